"""What every benchmark needs: Django set up, a throwaway test database, medians printed alike.

Imported first by each bench/*.py (run as a script, so this folder is on sys.path). Not a benchmark
itself: `make bench` runs only the files that do not start with an underscore.
"""

import os
import statistics
import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DB_CONN_MAX_AGE", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def median_ms(samples: list[float]) -> str:
    """The median of timings in seconds, as milliseconds with the range beside it."""
    return f"{statistics.median(samples) * 1000:8.1f} ms (min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f})"


@contextmanager
def throwaway_database():
    """A fresh test database (SQLite, or PostgreSQL by DATABASE_URL) for the bench, dropped afterwards."""
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def new_member():
    """A new proposal and a user who is a member of it."""
    from tests import factories as f

    proposal = f.ProposalFactory()
    user = f.UserFactory()
    f.ProposalMemberFactory(proposal=proposal, user=user)
    return proposal, user
