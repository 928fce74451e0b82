"""Sync proposals, sessions and members from the user office's feed (docs/user-office.md).

manage.py sync_user_office [FILE_OR_URL] [--format json|csv] [--dry-run]

Without FILE_OR_URL the feed is USER_OFFICE_FEED. Prints every change (or what a dry run would change), the
warnings, and on a refused feed every error with its line and field; exits with status 1 when refused.
"""

from django.core.management.base import BaseCommand, CommandError

from lims.models import UserOfficeSync
from lims.user_office import sync
from lims.user_office.feed import FeedError


class Command(BaseCommand):
    help = "Sync proposals, sessions and members from the user office's JSON or CSV feed (file or URL)."

    def add_arguments(self, parser):
        parser.add_argument(
            "source", nargs="?", default="", help="A file or an http(s) URL (default: USER_OFFICE_FEED)."
        )
        parser.add_argument("--format", choices=["json", "csv"], default="", help="Default: from the name or content.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing.")

    def handle(self, *args, source, format, dry_run, **options):
        record = sync.run(source, fmt=format, dry_run=dry_run, trigger="command")
        if record.status == UserOfficeSync.Status.FAILED:
            for error in record.errors:
                self.stderr.write(str(FeedError(**error)))
            raise CommandError(f"The feed {record.source} is refused ({len(record.errors)} error(s)); nothing changed.")
        for change in record.changes:
            self.stdout.write(sync.describe(change))
        for warning in record.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        prefix = "Dry run, nothing written: " if dry_run else ""
        self.stdout.write(prefix + sync.summary(record) + f" (run #{record.pk}).")
