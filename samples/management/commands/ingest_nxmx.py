"""Create or update a data collection from an NXmx master file (``samples.data.nxmx``).

manage.py ingest_nxmx /data/mx2345/lyso_1_master.h5 --beamline MX-3 [--sample ID | --pin CODE] [--session ID]
                      [--external-id X]

The command acts for the facility: it may link any sample or session. The file may be anywhere the command
can read (the API's ``path`` must be under DATA_ROOT; an operator at the console is trusted).
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lims.choices import FacilityRole
from lims.models import Beamline
from samples.data.ingest import BatchError
from samples.data.nxmx import nxmx_ingest_fields, read_nxmx


class Facility:
    """The principal of a management command: the facility itself, which sees every proposal."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = True
    is_superuser = True
    is_machine = False
    pk = id = None
    _facility_roles = frozenset({FacilityRole.ADMIN})
    username = "manage.py"

    def __str__(self) -> str:
        return "the facility (manage.py)"


class Command(BaseCommand):
    help = "Create or update a data collection from an NXmx (NeXus/HDF5) master file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The master file.")
        parser.add_argument("--beamline", required=True, help="The beamline's name, e.g. MX-3.")
        parser.add_argument("--sample", type=int, help="The sample's id.")
        parser.add_argument("--pin", help="The sample's pin barcode.")
        parser.add_argument("--session", type=int, help="The session's id (else the one running at the start).")
        parser.add_argument("--external-id", help="The collection's id (default: the master file's path).")

    def handle(self, *args, file, beamline, sample, pin, session, external_id, **options):
        found = Beamline.objects.filter(name__iexact=beamline.strip()).first()
        if found is None:
            known = ", ".join(Beamline.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"There is no beamline {beamline!r} (beamlines: {known}).")
        path = Path(file).resolve()
        if not path.is_file():
            raise CommandError(f"There is no file {file!r}.")
        links = {"beamline": found.pk, "sample": sample, "pin_code": pin, "session": session}
        try:
            fields = read_nxmx(str(path), base_dir=path.parent)
            collection = nxmx_ingest_fields(Facility(), fields, str(path.parent), path.name, external_id, links)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        except BatchError as exc:
            problems = exc.errors[0]
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items())) from None
        self.stdout.write(
            f"Data collection {collection.pk} ({collection.external_id}): {fields['number_of_images']} images,"
            f" {fields['wavelength']:.4f} Å"
        )
