"""Make an API token for a beamline's control software and print its key (shown this once only).

manage.py token_create --beamline MX-3 --name "MXCuBE MX-3" [--user beamline]
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from lims.models import Beamline
from lims.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token scoped to a beamline and print its key (only a hash of it is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--beamline", required=True, help="The beamline's name, e.g. MX-3.")
        parser.add_argument("--name", required=True, help='What uses the token, e.g. "MXCuBE MX-3".')
        parser.add_argument("--user", help="The username answerable for what the token does (audit log).")

    def handle(self, *args, beamline, name, user, **options):
        found = Beamline.objects.filter(name__iexact=beamline.strip()).first()
        if found is None:
            known = ", ".join(Beamline.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"There is no beamline {beamline!r} (beamlines: {known}).")
        person = None
        if user:
            person = get_user_model().objects.filter(username=user, is_active=True).first()
            if person is None:
                raise CommandError(f"There is no active user {user!r}.")
        if not name.strip():
            raise CommandError("Give the token a name: what uses it.")
        token, key = api_token_create(name=name, beamline=found, user=person, created_by=None)
        self.stderr.write(f"API token {token.name!r} for {found} (prefix {token.prefix}). The key, shown once:")
        self.stdout.write(key)
