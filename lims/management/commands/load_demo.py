"""Load the demo facility from fixtures/demo.json: beamlines, locations, personas, proposals, a shipment,
a session running now on MX-3, a demo API token for MX-3's beamline control, and data to browse: a past
session of mx2345 on MX-3 with screenings and data sets on the demo samples (and a few collections of the
mail-in proposal in1001 on MX-2), with results, flags, tags and small stand-in files under
``DATA_ROOT/demo/`` so that the download cart builds a real tar.

Objects are created through the services (so the demo has barcodes and an audit trail like real
data) and the command is idempotent: what already exists is left as it is. A session marked "running"
starts today: run again on a later day, the command adds one that runs then.

The demo token's key is fixed and published (fixtures/demo.json): demo data only, never on a real beamline.
"""

import datetime as dt
import json
import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from lims.choices import FacilityRole
from lims.models import ApiToken, Beamline, LabContact, Proposal, Session
from lims.services import lab_contact_create, proposal_member_add
from lims.tokens import api_token_create, hash_key
from samples.data import actions
from samples.data.choices import CollectionStatus, ExperimentType, Flag, Shell
from samples.data.ingest import search_text
from samples.data.models import (
    DataCollection,
    DataCollectionGroup,
    ProcessingResult,
    ProcessingShell,
    ScreeningResult,
    ScreeningStrategy,
)
from samples.models import Protein, Sample
from shipping.choices import DewarStatus
from shipping.models import Dewar, Location, Shipment
from shipping.services import dewar_receive, shipment_create, shipment_send

DEFAULT_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
# The demo's groups and collections carry this prefix in their (pipeline) external id: made once.
DEMO_PREFIX = "demo-"
MAILIN_SHIPMENT = "KRAS-mailin-1"
# The mail-in demo's pins: request fields, the operator's state, reason and notes, what results they have.
MAILIN_SAMPLES = [
    ({"mailin_request": "screen", "mailin_priority": 2}, "screened", "", "Diffracts to 1.9 Å; no ice.", "screen"),
    (
        {"mailin_request": "screen_collect", "mailin_collect_better_than": 2.0, "mailin_priority": 1},
        "collected",
        "",
        "Screened at 1.8 Å, better than asked: full data set collected.",
        "fragment",
    ),
    (
        {"mailin_request": "dataset", "mailin_dataset_kind": "sad", "anomalous_scatterer": "Se", "mailin_priority": 1},
        "collected",
        "",
        "Se edge scan, SAD at the peak (0.9792 Å).",
        "sad",
    ),
    ({"mailin_request": "dataset", "mailin_dataset_kind": "native"}, "failed", "No diffraction", "", "failed"),
    ({"mailin_request": "screen", "mailin_priority": 5}, "skipped", "Empty pin: no crystal in the loop", "", None),
]


class Command(BaseCommand):
    help = "Load the demo facility, users and shipment (idempotent); prints the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--fixture", default=str(DEFAULT_FIXTURE))
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, fixture, quiet_logins, **options):
        # The e-mails the demo's events send (a dewar arrives, a report is ready) go to files, and the task
        # logs are quiet, so that the logins are the last thing printed. Celery's eager tasks run on commit:
        # inside these overrides.
        mail = Path(settings.EMAIL_FILE_PATH)
        before = set(mail.glob("*")) if mail.is_dir() else set()
        quiet = [logging.getLogger(name) for name in ("celery", "kombu", "shipping", "samples", "lims")]
        levels = [logger.level for logger in quiet]
        try:
            for logger in quiet:  # kombu warns that an in-process broker has no host name
                logger.setLevel(logging.ERROR if logger.name == "kombu" else logging.WARNING)
            # A demo never mails anyone nor floods the console; a test's in-memory outbox is left as it is.
            backend = settings.EMAIL_BACKEND
            if backend.endswith((".console.EmailBackend", ".smtp.EmailBackend")):
                backend = "django.core.mail.backends.filebased.EmailBackend"
            with override_settings(EMAIL_BACKEND=backend):
                data = self._load(fixture)
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)
        written = len(set(mail.glob("*")) - before) if mail.is_dir() else 0
        if written:
            self.stdout.write(f"The demo's e-mails ({written}) were written to {mail}/, not sent.")
        if not quiet_logins:
            self._print_logins(data)

    @transaction.atomic
    def _load(self, fixture) -> dict:
        data = json.loads(Path(fixture).read_text())
        for role in FacilityRole.values:
            Group.objects.get_or_create(name=role)
        users = self._users(data)
        beamlines = self._beamlines(data)
        locations = self._locations(data, beamlines)
        proposals = self._proposals(data, users, beamlines)
        self._running_sessions(data, users, beamlines, proposals)
        self._api_tokens(data, users, beamlines)
        self._shipments(data, users, proposals, locations)
        # After the shipments: their dewars are booked on the proposal's first session, the running one.
        self._data(users, beamlines, proposals)
        # The mail-in client's shipment, at the facility with the operator's work done: to complete and report.
        self._mailin(users, proposals, locations)
        return data

    def _users(self, data) -> dict:
        User = get_user_model()
        users = {}
        for spec in data["users"]:
            user, created = User.objects.get_or_create(
                username=spec["username"],
                defaults={k: spec[k] for k in ("first_name", "last_name", "email")},
            )
            if created:
                user.set_password(data["password"])
                user.is_superuser = user.is_staff = spec.get("superuser", False)
                user.save()
                user.groups.set(Group.objects.filter(name__in=spec.get("groups", [])))
            users[spec["username"]] = user
        return users

    def _beamlines(self, data) -> dict:
        beamlines = {}
        for spec in data["beamlines"]:
            spec = dict(spec)
            beamline, _ = Beamline.objects.get_or_create(name=spec.pop("name"), defaults=spec)
            beamlines[beamline.name] = beamline
        return beamlines

    def _locations(self, data, beamlines) -> dict:
        locations = {}
        for spec in data["locations"]:
            spec = dict(spec)
            if "beamline" in spec:
                spec["beamline"] = beamlines[spec["beamline"]]
            location, _ = Location.objects.get_or_create(name=spec.pop("name"), defaults=spec)
            locations[location.name] = location
        return locations

    def _proposals(self, data, users, beamlines) -> dict:
        admin = users.get("admin")
        proposals = {}
        now = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
        for spec in data["proposals"]:
            proposal, created = Proposal.objects.get_or_create(
                code=spec["code"],
                number=spec["number"],
                defaults={"title": spec["title"], "kind": spec["kind"], "mail_in": spec.get("mail_in", False)},
            )
            proposals[proposal.name] = proposal
            if not created:
                continue
            for username, role in spec["members"].items():
                proposal_member_add(proposal=proposal, user=admin, member=users[username], role=role)
            for session in spec.get("sessions", []):
                if session.get("running"):
                    continue  # _running_sessions
                start = now + dt.timedelta(days=session["starts_in_days"])
                Session.objects.create(
                    proposal=proposal,
                    beamline=beamlines[session["beamline"]],
                    start=start,
                    end=start + dt.timedelta(hours=session["hours"]),
                    local_contact=users.get(session.get("local_contact")),
                )
            for card in spec.get("lab_contacts", []):
                lab_contact_create(proposal=proposal, user=admin, data=card)
        return proposals

    def _running_sessions(self, data, users, beamlines, proposals) -> None:
        """Sessions marked "running" run now: from today's midnight for ``hours``, made unless one runs now."""
        now = timezone.now()
        today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        for spec in data["proposals"]:
            proposal = proposals[f"{spec['code'].lower()}{spec['number']}"]
            for session in spec.get("sessions", []):
                if not session.get("running"):
                    continue
                beamline = beamlines[session["beamline"]]
                if proposal.sessions.filter(beamline=beamline, start__lte=now, end__gte=now).exists():
                    continue
                Session.objects.create(
                    proposal=proposal,
                    beamline=beamline,
                    start=today,
                    end=today + dt.timedelta(hours=session["hours"]),
                    local_contact=users.get(session.get("local_contact")),
                )

    def _api_tokens(self, data, users, beamlines) -> None:
        for spec in data.get("api_tokens", []):
            if ApiToken.objects.filter(key_hash=hash_key(spec["key"])).exists():
                continue
            api_token_create(
                name=spec["name"],
                beamline=beamlines[spec["beamline"]],
                user=users.get(spec.get("user")),
                created_by=users.get("admin"),
                key=spec["key"],
            )

    def _shipments(self, data, users, proposals, locations) -> None:
        pin = 0
        for spec in data["shipments"]:
            proposal = proposals[spec["proposal"]]
            if Shipment.objects.filter(proposal=proposal, name=spec["name"]).exists():
                continue
            contact = LabContact.objects.get(proposal=proposal, card_name=spec["contact"])
            session = proposal.sessions.order_by("start").first()
            dewars = []
            for d in spec["dewars"]:
                pucks = []
                for p in d["pucks"]:
                    samples = []
                    for position in range(1, p["samples"] + 1):
                        pin += 1
                        samples.append(
                            {
                                "position": position,
                                "name": f"{p['protein']}-{p['name']}-{position:02d}",
                                "protein_acronym": p["protein"],
                                "pin_code": f"DEMO{pin:06d}",
                                "space_group": "P212121",
                                "cell_a": 54.2,
                                "cell_b": 61.8,
                                "cell_c": 88.1,
                                "cell_alpha": 90,
                                "cell_beta": 90,
                                "cell_gamma": 90,
                                "experiment_kind": "OSC",
                                "required_resolution": 2.5,
                            }
                        )
                    pucks.append(
                        {
                            "name": p["name"],
                            "container_type": p["type"],
                            "barcode": p.get("barcode"),
                            "samples": samples,
                        }
                    )
                dewars.append(
                    {
                        "name": d["name"],
                        "delivery_location": locations[d["delivery_location"]],
                        "customs_value": d["customs_value"],
                        "transport_value": d["transport_value"],
                        "courier_to_facility": d["courier_to_facility"],
                        "tracking_to_facility": d["tracking_to_facility"],
                        "session": session,
                        "local_contact": session.local_contact if session else None,
                        "containers": pucks,
                    }
                )
            shipment = shipment_create(
                proposal=proposal,
                user=users[spec["by"]],
                data={
                    "name": spec["name"],
                    "sending_contact": contact,
                    "return_contact": contact,
                    "expected_arrival": timezone.localdate() + dt.timedelta(days=spec["expected_arrival_in_days"]),
                    "return_courier": spec["return_courier"],
                    "return_courier_account": spec["return_courier_account"],
                    "safety_level": spec["safety_level"],
                    "comments": spec["comments"],
                    "dewars": dewars,
                },
            )
            if spec.get("sent"):
                # Marked as sent, so that stores can scan its dewars in as they arrive.
                shipment_send(shipment=shipment, user=users[spec["by"]])

    def _data(self, users, beamlines, proposals) -> None:
        """Past sessions with data: mx2345 on MX-3 (screenings and data sets on the demo samples), in1001 on
        MX-2 (mail-in, no registered pins). Made once; the stand-in files are (re)written when missing."""
        if DataCollectionGroup.objects.filter(external_id__startswith=DEMO_PREFIX).exists():
            return
        alice, carol = users.get("alice"), users.get("carol")
        mx = proposals.get("mx2345")
        if mx is not None and "MX-3" in beamlines:
            session = _past_session(mx, beamlines["MX-3"], days_ago=14, hours=24, local_contact=users.get("beamline"))
            samples = list(
                Sample.objects.filter(container__shipment__proposal=mx)
                .select_related("protein")
                .order_by("container__barcode", "position")
            )
            made = DemoData(session).mx2345(samples)
            if alice is not None:
                _afterwards(alice, made)
        industrial = proposals.get("in1001")
        if industrial is not None and "MX-2" in beamlines:
            session = _past_session(
                industrial, beamlines["MX-2"], days_ago=30, hours=12, local_contact=users.get("operator")
            )
            made = DemoData(session).in1001(Protein.objects.get_or_create(proposal=industrial, acronym="KRAS")[0])
            if carol is not None:
                actions.collections_tag(user=carol, collections=made["fragments"][:2], tag="hit")

    def _mailin(self, users, proposals, locations) -> None:
        """in1001's mail-in shipment, at the facility: its pins carry the client's requests and the operator's
        states (screened, collected, failed, skipped), with results (the demo fragment collections go on two
        of them). Its work is NOT marked complete: in ``make run`` the operator does it, carol downloads."""
        proposal, carol = proposals.get("in1001"), users.get("carol")
        if (
            proposal is None
            or carol is None
            or Shipment.objects.filter(proposal=proposal, name=MAILIN_SHIPMENT).exists()
        ):
            return
        contact = LabContact.objects.filter(proposal=proposal).order_by("id").first()
        stores_user = get_user_model().objects.filter(groups__name=FacilityRole.STORES).order_by("id").first()
        location = next((loc for loc in locations.values() if loc.kind == "stores"), None)
        if contact is None or stores_user is None:
            return
        samples = [
            {
                "position": n,
                "name": f"KRAS-mi-{n:02d}",
                "protein_acronym": "KRAS",
                "pin_code": f"DEMOMI{n:04d}",
                "required_resolution": 2.5,
            }
            for n in range(1, len(MAILIN_SAMPLES) + 1)
        ]
        shipment = shipment_create(
            proposal=proposal,
            user=carol,
            data={
                "name": MAILIN_SHIPMENT,
                "sending_contact": contact,
                "return_contact": contact,
                "expected_arrival": timezone.localdate() - dt.timedelta(days=3),
                "return_courier": contact.default_courier or "FedEx",
                "return_courier_account": contact.courier_account,
                "safety_level": "green",
                "comments": "Demo mail-in shipment: five pins of KRAS fragment soaks for the facility to measure.",
                "dewars": [
                    {
                        "name": "Pharma-1",
                        "customs_value": "500.00",
                        "transport_value": "3000.00",
                        "courier_to_facility": "FedEx",
                        "tracking_to_facility": "FX778899001",
                        "containers": [{"name": "MI-1", "container_type": "unipuck", "samples": samples}],
                    }
                ],
            },
        )
        shipment_send(shipment=shipment, user=carol)
        for dewar in shipment.dewars.order_by("id"):
            dewar_receive(dewar=dewar, user=stores_user, location=location)
        pins = list(Sample.objects.filter(container__shipment=shipment).select_related("protein").order_by("position"))
        session = (
            Session.objects.filter(proposal=proposal, end__lt=timezone.now()).order_by("-start").first()
            or proposal.sessions.order_by("start").first()
        )
        fragments = list(
            DataCollection.objects.filter(proposal=proposal, sample__isnull=True, external_id__startswith=DEMO_PREFIX)
            .select_related("group")
            .order_by("start_time")
        )
        data = DemoData(session) if session is not None else None
        if data is not None:
            data.serial = 100  # after in1001's first collections: external ids stay unique
        for sample, (fields, state, reason, notes, results) in zip(pins, MAILIN_SAMPLES, strict=False):
            for key, value in {**fields, "mailin_state": state, "mailin_state_reason": reason}.items():
                setattr(sample, key, value)
            sample.mailin_notes = notes
            sample.save()
            if data is None or results is None:
                continue
            if results == "fragment" and len(fragments) >= 2:
                # The demo's first fragment screening and data set were this pin's: put them on it.
                for dc in fragments[:2]:
                    DataCollection.objects.filter(pk=dc.pk).update(sample=sample, protein=sample.protein)
                    DataCollectionGroup.objects.filter(pk=dc.group_id).update(sample=sample)
                continue
            screening = data.group(ExperimentType.SCREENING, sample)
            shot = data.collection(screening, name=sample.name, run=1, images=2, h5=False)
            data.screening(shot, resolution=1.9 if results != "failed" else 9.0, ok=results != "failed")
            if results == "sad":
                sad = data.group(ExperimentType.SAD, sample)
                dc = data.collection(sad, name=f"{sample.name}_se", run=2, images=3600, h5=True, wavelength=0.9792)
                data.processing(dc, high=2.05, programs=("autoPROC",))

    def _print_logins(self, data) -> None:
        self.stdout.write(self.style.SUCCESS("\nDemo logins (password for all: {})".format(data["password"])))
        for spec in data["users"]:
            self.stdout.write(f"  {spec['username']:<14} {spec['persona']}")
        in_transit = Dewar.objects.filter(status=DewarStatus.IN_TRANSIT_TO_FACILITY).order_by("id")
        if in_transit:
            codes = ", ".join(d.barcode for d in in_transit)
            self.stdout.write(f"Dewars on their way to the facility (scan them in as stores): {codes}")
        collections = DataCollection.objects.filter(external_id__startswith=DEMO_PREFIX).count()
        if collections:
            self.stdout.write(
                f"Data to browse at /data/: {collections} collections of mx2345 and in1001, "
                f"their files under {settings.DATA_ROOT / 'demo'}"
            )
        for spec in data.get("api_tokens", []):
            self.stdout.write(
                f"API token for {spec['beamline']} (Authorization: Bearer …; demo data only, the key is public): "
                f"{spec['key']}"
            )
        self.stdout.write("")


# --- demo data collections ---------------------------------------------------------------------------------


def _past_session(proposal, beamline, *, days_ago: int, hours: int, local_contact) -> Session:
    start = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0) - dt.timedelta(days=days_ago)
    return Session.objects.create(
        proposal=proposal,
        beamline=beamline,
        start=start,
        end=start + dt.timedelta(hours=hours),
        local_contact=local_contact,
        comments="Demo: an earlier beamtime, with data to browse.",
    )


def _write(path: Path, content: bytes) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


class DemoData:
    """Collections of one past session, one after the other from its start, each with stand-in files
    (a few bytes each: enough for the download cart, not images) under ``DATA_ROOT/demo/<proposal>/``."""

    def __init__(self, session: Session):
        self.session = session
        self.clock = session.start + dt.timedelta(minutes=20)
        self.serial = 0
        self.root = Path(settings.DATA_ROOT) / "demo" / session.proposal.name / f"{session.start:%Y%m%d}"

    def group(self, kind: str, sample: Sample | None) -> DataCollectionGroup:
        self.serial += 1
        return DataCollectionGroup.objects.create(
            proposal=self.session.proposal,
            beamline=self.session.beamline,
            session=self.session,
            sample=sample,
            experiment_type=kind,
            external_id=f"{DEMO_PREFIX}{self.session.proposal.name}-g{self.serial}",
        )

    def collection(
        self, group, *, name: str, run: int, images: int, h5: bool, status=CollectionStatus.SUCCESSFUL, **fields
    ) -> DataCollection:
        """One sweep; CBF images ("name_run_####.cbf", one file each) or an Eiger master and its data files."""
        sample = group.sample
        directory = self.root / (sample.name if sample else name)
        template = f"{name}_{run}_master.h5" if h5 else f"{name}_{run}_####.cbf"
        if h5:
            _write(directory / template, b"demo: stands in for an NXmx master file\n")
            for n in range(1, max(1, -(-images // 1000)) + 1):
                _write(directory / f"{name}_{run}_data_{n:06d}.h5", f"demo: data file {n}\n".encode())
        else:
            for n in range(1, images + 1):
                _write(directory / f"{name}_{run}_{n:04d}.cbf", f"demo: image {n}\n".encode())
        exposure = fields.pop("exposure_time", 0.01 if h5 else 0.1)
        start = self.clock
        end = start + dt.timedelta(seconds=images * exposure + 20)
        self.clock = end + dt.timedelta(minutes=4)
        self.serial += 1
        protein = sample.protein if sample else fields.pop("protein", None)
        values = {
            "wavelength": 0.9763,
            "exposure_time": exposure,
            "oscillation_start": 0.0,
            "oscillation_range": 0.1 if h5 else 1.0,
            "detector_distance": 250.0,
            "resolution": 1.5,
            "transmission": 20.0 if h5 else 5.0,
            "beam_size_x": 50.0,
            "beam_size_y": 20.0,
            "flux": 3.2e12,
            "detector": "EIGER2 X 16M" if h5 else "PILATUS 6M",
            "beam_centre_x": 2070.5,
            "beam_centre_y": 2180.2,
            "metadata": {
                "ring_current": round(198.5 + (self.serial % 7) * 0.2, 1),
                "undulator_gap": round(6.40 + (self.serial % 5) * 0.03, 2),
                "cryo_temperature": 100,
            },
            **fields,
        }
        return DataCollection.objects.create(
            group=group,
            proposal_id=group.proposal_id,
            beamline_id=group.beamline_id,
            session_id=group.session_id,
            sample=sample,
            protein=protein,
            experiment_type=group.experiment_type,
            external_id=f"{DEMO_PREFIX}{self.session.proposal.name}-dc{self.serial}",
            status=status,
            start_time=start,
            end_time=end,
            directory=str(directory),
            file_template=template,
            first_image=1,
            number_of_images=images,
            search_text=search_text(
                sample_name=sample.name if sample else "",
                protein_acronym=protein.acronym if protein else "",
                directory=str(directory),
                file_template=template,
            ),
            **values,
        )

    def screening(self, collection, *, resolution: float, ok: bool = True) -> None:
        result = ScreeningResult.objects.create(
            data_collection=collection,
            program="EDNA",
            indexing_success=ok,
            space_group="P212121" if ok else "",
            **(dict(zip(CELL, (54.2, 61.8, 88.1, 90, 90, 90), strict=True)) if ok else {}),
            mosaicity=0.12 if ok else None,
            estimated_resolution=resolution,
            spots_found=1450 if ok else 35,
            ranking=round(1 / resolution, 3) if ok else None,
            comments="" if ok else "Indexing failed: too few spots (ice?).",
        )
        if ok:
            ScreeningStrategy.objects.bulk_create(
                [
                    ScreeningStrategy(
                        screening=result,
                        phi_start=0,
                        phi_end=180,
                        oscillation=0.1,
                        exposure_time=0.01,
                        completeness=99.6,
                        multiplicity=6.8,
                        resolution=resolution,
                    ),
                    ScreeningStrategy(
                        screening=result,
                        phi_start=30,
                        phi_end=120,
                        oscillation=0.2,
                        exposure_time=0.02,
                        completeness=95.1,
                        multiplicity=3.4,
                        resolution=round(resolution + 0.2, 2),
                    ),
                ]
            )
        _best(collection, resolution if ok else None)

    def processing(self, collection, *, high: float, programs=("autoPROC", "xia2-dials")) -> None:
        for k, program in enumerate(programs):
            result = ProcessingResult.objects.create(
                data_collection=collection,
                program=program,
                space_group="P212121",
                **dict(zip(CELL, (54.21, 61.83, 88.07, 90, 90, 90), strict=True)),
            )
            top = round(high + 0.05 * k, 2)
            ProcessingShell.objects.bulk_create(
                [
                    ProcessingShell(
                        processing=result,
                        shell=Shell.OVERALL,
                        resolution_low=44.1,
                        resolution_high=top,
                        completeness=99.7,
                        multiplicity=6.6,
                        i_sigma=13.8,
                        r_merge=0.071,
                        cc_half=0.998,
                    ),
                    ProcessingShell(
                        processing=result,
                        shell=Shell.INNER,
                        resolution_low=44.1,
                        resolution_high=round(top * 2.7, 2),
                        completeness=99.4,
                        multiplicity=6.2,
                        i_sigma=42.5,
                        r_merge=0.031,
                        cc_half=0.999,
                    ),
                    ProcessingShell(
                        processing=result,
                        shell=Shell.OUTER,
                        resolution_low=round(top + 0.03, 2),
                        resolution_high=top,
                        completeness=98.2,
                        multiplicity=6.4,
                        i_sigma=1.7,
                        r_merge=0.88,
                        cc_half=0.58,
                    ),
                ]
            )
        _best(collection, high)

    def mx2345(self, samples: list[Sample]) -> dict:
        """About 25 collections: a screening of ten pins, data sets on seven, a SAD pair, a mesh, calibration."""
        made = {"screenings": [], "datasets": [], "sad": [], "failed": [], "calibration": []}
        thaumatin = self.group(ExperimentType.OTHER, None)
        for run, flag_name in ((1, "alignment"), (2, "calibration")):
            made["calibration"].append(
                self.collection(thaumatin, name=f"thau_{flag_name}", run=run, images=4, h5=False)
            )
        chosen = samples[:5] + samples[20:25]
        for i, sample in enumerate(chosen):
            screening = self.group(ExperimentType.SCREENING, sample)
            shot = self.collection(screening, name=sample.name, run=1, images=4, h5=False)
            ok = i != 9
            self.screening(shot, resolution=round(1.55 + 0.15 * i, 2), ok=ok)
            (made["screenings"] if ok else made["failed"]).append(shot)
            if i >= 7:
                continue
            data_set = self.group(ExperimentType.OSC, sample)
            sweeps = 2 if i in (0, 1, 3) else 1
            for run in range(1, sweeps + 1):
                aborted = i == 5
                images = 640 if aborted else 1800
                dc = self.collection(
                    data_set,
                    name=sample.name,
                    run=run + 1,
                    images=images,
                    h5=True,
                    status=CollectionStatus.ABORTED if aborted else CollectionStatus.SUCCESSFUL,
                    oscillation_start=90.0 * (run - 1),
                    comments="Aborted: the crystal moved out of the beam." if aborted else "",
                )
                if not aborted:
                    self.processing(dc, high=round(1.6 + 0.1 * i + 0.05 * (run - 1), 2))
                made["datasets" if not aborted else "failed"].append(dc)
        if len(chosen) > 2:
            sad = self.group(ExperimentType.SAD, chosen[2])
            for run in (1, 2):
                dc = self.collection(sad, name=f"{chosen[2].name}_se", run=run, images=3600, h5=True, wavelength=0.9792)
                self.processing(dc, high=2.1, programs=("autoPROC",))
                made["sad"].append(dc)
        if len(chosen) > 8:
            mesh = self.group(ExperimentType.MESH, chosen[8])
            made["failed"].append(
                self.collection(
                    mesh,
                    name=f"{chosen[8].name}_mesh",
                    run=1,
                    images=20,
                    h5=False,
                    status=CollectionStatus.FAILED,
                    comments="Detector armed late: no images after 20.",
                )
            )
        return made

    def in1001(self, protein: Protein) -> dict:
        """A mail-in fragment screen: screenings then data sets of soaked crystals (no pins registered)."""
        made = {"fragments": []}
        for k in range(1, 3):
            screening = self.group(ExperimentType.SCREENING, None)
            shot = self.collection(screening, name=f"kras_f{k:03d}", run=1, images=2, h5=False, protein=protein)
            self.screening(shot, resolution=1.8 + 0.1 * k)
            data_set = self.group(ExperimentType.OSC, None)
            dc = self.collection(data_set, name=f"kras_f{k:03d}", run=2, images=1800, h5=True, protein=protein)
            self.processing(dc, high=1.7 + 0.1 * k, programs=("fast_dp",))
            made["fragments"].append(dc)
        return made


CELL = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")


def _best(collection: DataCollection, resolution: float | None) -> None:
    if resolution is not None and (collection.best_resolution is None or resolution < collection.best_resolution):
        collection.best_resolution = resolution
        DataCollection.objects.filter(pk=collection.pk).update(best_resolution=resolution)


def _afterwards(user, made: dict) -> None:
    """What the demo user did afterwards, through the services so the change log shows it."""
    calibration = made["calibration"]
    actions.collections_flag(user=user, collections=calibration[:1], flag=Flag.ALIGNMENT)
    actions.collections_flag(user=user, collections=calibration[1:], flag=Flag.CALIBRATION)
    actions.collections_flag(user=user, collections=made["failed"], flag=Flag.BAD)
    actions.collections_flag(user=user, collections=made["datasets"][:3], flag=Flag.MEASUREMENT)
    actions.collections_tag(user=user, collections=made["datasets"][:2], tag="best")
    actions.collections_tag(user=user, collections=made["sad"], tag="se-met")
    cdk2 = [dc for dc in made["datasets"] if dc.protein and dc.protein.acronym == "CDK2"]
    actions.collections_tag(user=user, collections=cdk2, tag="ligand-soak")
    if made["datasets"]:
        actions.collection_comment(
            user=user, collection=made["datasets"][0], comments="Best data so far: use for refinement."
        )
