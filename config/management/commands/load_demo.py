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

from config.demo_data import DEMO_PREFIX, DemoData
from lims.choices import FacilityRole
from lims.models import ApiToken, Beamline, LabContact, Proposal, Session
from lims.services import lab_contact_create, proposal_member_add
from lims.tokens import TokenPrincipal, api_token_create, hash_key
from samples.data import actions
from samples.data.choices import ExperimentType, Flag
from samples.data.models import (
    DataCollection,
    DataCollectionGroup,
)
from samples.mailin.services import sample_mailin_state_set
from samples.models import Sample
from shipping.choices import DewarStatus
from shipping.models import Dewar, DewarEvent, Location, Shipment
from shipping.services import dewar_receive, shipment_create, shipment_send

DEFAULT_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
# The demo's groups and collections carry this prefix in their (pipeline) external id: made once.
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
        # The mail-in client's shipment first (registered, sent, in stores), so that the fragment collections
        # of in1001 are ingested on its pin; then the data; then the operator's work on its pins.
        mailin = self._mailin_shipment(users, proposals, locations)
        self._data(data, users, beamlines, proposals, mailin)
        # The operator's work on the mail-in pins (their data and states): for the operator to complete and report.
        if mailin is not None:
            self._mailin_work(data, users, mailin)
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

    def _data(self, data, users, beamlines, proposals, mailin: Shipment | None) -> None:
        """Past sessions with data: mx2345 on MX-3 (screenings and data sets on the demo samples), in1001 on
        MX-2 (a mail-in fragment screen: the first crystal on the mail-in shipment's screen-and-collect pin,
        when that shipment is new, the others unregistered). Made once; the stand-in files are (re)written when missing.
        Written through the ingest services, as the beamline's pipeline would (see ``_ingester``)."""
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
            made = DemoData(session, _ingester(data, users, beamlines["MX-3"])).mx2345(samples)
            if alice is not None:
                _afterwards(alice, made)
        industrial = proposals.get("in1001")
        if industrial is not None and "MX-2" in beamlines:
            session = _past_session(
                industrial, beamlines["MX-2"], days_ago=30, hours=12, local_contact=users.get("operator")
            )
            pin = None
            if mailin is not None:  # the pin whose request was screen-and-collect: the first fragment's
                kinds = {n: spec[-1] for n, spec in enumerate(MAILIN_SAMPLES, start=1)}
                pins = Sample.objects.filter(container__shipment=mailin).order_by("position")
                pin = next((p for p in pins if kinds.get(p.position) == "fragment"), None)
            made = DemoData(session, _ingester(data, users, beamlines["MX-2"])).in1001(pin)
            if carol is not None:
                actions.collections_tag(user=carol, collections=made["fragments"][:2], tag="hit")

    def _mailin_shipment(self, users, proposals, locations) -> Shipment | None:
        """in1001's mail-in shipment, registered with the client's requests on its pins, sent and received
        in stores: made once (None when it exists already)."""
        proposal, carol = proposals.get("in1001"), users.get("carol")
        if (
            proposal is None
            or carol is None
            or Shipment.objects.filter(proposal=proposal, name=MAILIN_SHIPMENT).exists()
        ):
            return None
        contact = LabContact.objects.filter(proposal=proposal).order_by("id").first()
        stores_user = _role_user(users, "stores", FacilityRole.STORES)
        location = next((loc for loc in locations.values() if loc.kind == "stores"), None)
        if contact is None or stores_user is None:
            return None
        samples = [
            {
                "position": n,
                "name": f"KRAS-mi-{n:02d}",
                "protein_acronym": "KRAS",
                "pin_code": f"DEMOMI{n:04d}",
                "required_resolution": 2.5,
                **request,  # the client's request, as the registration form takes it
            }
            for n, (request, *_operator) in enumerate(MAILIN_SAMPLES, start=1)
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
        # As it happened: sent five days ago, in stores two days later (the dewar's route shows the legs).
        # The events are append-only for people; the demo sets its own clock once, here.
        sent, arrived = timezone.now() - dt.timedelta(days=5), timezone.now() - dt.timedelta(days=3, hours=2)
        Shipment.objects.filter(pk=shipment.pk).update(sent_at=sent)
        events = DewarEvent.objects.filter(dewar__shipment=shipment)
        events.filter(status=DewarStatus.IN_TRANSIT_TO_FACILITY).update(at=sent)
        events.filter(status=DewarStatus.AT_FACILITY).update(at=arrived)
        return shipment

    def _mailin_work(self, data, users, shipment: Shipment) -> None:
        """The operator's work on the mail-in pins: their collections (the demo fragment screening and data
        set of in1001 are on the screen-and-collect pin already, see ``_data``) and their states (screened,
        collected, failed, skipped) set through the mail-in service. The shipment's work is NOT marked
        complete: in ``make run`` the operator does it, carol downloads."""
        proposal = shipment.proposal
        operator = _role_user(users, "operator", FacilityRole.MAILIN_OPERATOR)
        pins = list(Sample.objects.filter(container__shipment=shipment).select_related("protein").order_by("position"))
        session = (
            Session.objects.filter(proposal=proposal, end__lt=timezone.now()).order_by("-start").first()
            or proposal.sessions.order_by("start").first()
        )
        demo = DemoData(session, _ingester(data, users, session.beamline)) if session is not None else None
        if demo is not None:
            demo.serial = 100  # after in1001's first collections: external ids stay unique
        for sample, (_request, state, reason, notes, results) in zip(pins, MAILIN_SAMPLES, strict=False):
            if demo is not None and results not in (None, "fragment"):
                screening = demo.group(ExperimentType.SCREENING, sample)
                ok = results != "failed"
                shot = demo.collection(
                    screening, name=sample.name, run=1, images=2, h5=False, diffracts_to=1.9 if ok else None
                )
                demo.screening(shot, resolution=1.9 if ok else 9.0, ok=ok)
                if results == "sad":
                    sad = demo.group(ExperimentType.SAD, sample)
                    dc = demo.collection(
                        sad,
                        name=f"{sample.name}_se",
                        run=2,
                        images=3600,
                        h5=True,
                        wavelength=0.9792,
                        diffracts_to=2.05,
                    )
                    demo.processing(dc, high=2.05, programs=("autoPROC",))
            if operator is not None:
                sample_mailin_state_set(sample=sample, user=operator, state=state, reason=reason, notes=notes)

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


def _role_user(users: dict, username: str, role: str):
    """The demo's persona ``username``, else the first user with ``role`` (a fixture of one's own)."""
    user = users.get(username)
    if user is not None and user.groups.filter(name=role).exists():
        return user
    return get_user_model().objects.filter(groups__name=role).order_by("id").first()


def _ingester(data: dict, users: dict, beamline: Beamline):
    """Who writes the demo's collections on ``beamline``, as its pipeline would: the beamline's demo API token
    (fixtures/demo.json) when it has one, else the admin, a person who may ingest on any beamline and attach
    results to an industrial proposal's collections too (beamline staff cannot: they are confidential)."""
    for spec in data.get("api_tokens", []):
        if spec["beamline"] == beamline.name:
            token = ApiToken.objects.filter(key_hash=hash_key(spec["key"]), beamline=beamline).first()
            if token is not None:
                return TokenPrincipal(token)
    return _role_user(users, "admin", FacilityRole.ADMIN)
