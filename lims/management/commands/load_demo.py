"""Load the demo facility from fixtures/demo.json: beamlines, locations, personas, proposals, a shipment,
a session running now on MX-3 and a demo API token for MX-3's beamline control.

Objects are created through the services (so the demo has barcodes and an audit trail like real
data) and the command is idempotent: what already exists is left as it is. A session marked "running"
starts today: run again on a later day, the command adds one that runs then.

The demo token's key is fixed and published (fixtures/demo.json): demo data only, never on a real beamline.
"""

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from lims.choices import FacilityRole
from lims.models import ApiToken, Beamline, LabContact, Proposal, Session
from lims.services import lab_contact_create, proposal_member_add
from lims.tokens import api_token_create, hash_key
from shipping.choices import DewarStatus
from shipping.models import Dewar, Location, Shipment
from shipping.services import shipment_create, shipment_send

DEFAULT_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"


class Command(BaseCommand):
    help = "Load the demo facility, users and shipment (idempotent); prints the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--fixture", default=str(DEFAULT_FIXTURE))
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    @transaction.atomic
    def handle(self, *args, fixture, quiet_logins, **options):
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
        if not quiet_logins:
            self._print_logins(data)

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

    def _print_logins(self, data) -> None:
        self.stdout.write(self.style.SUCCESS("\nDemo logins (password for all: {})".format(data["password"])))
        for spec in data["users"]:
            self.stdout.write(f"  {spec['username']:<14} {spec['persona']}")
        in_transit = Dewar.objects.filter(status=DewarStatus.IN_TRANSIT_TO_FACILITY).order_by("id")
        if in_transit:
            codes = ", ".join(d.barcode for d in in_transit)
            self.stdout.write(f"Dewars on their way to the facility (scan them in as stores): {codes}")
        for spec in data.get("api_tokens", []):
            self.stdout.write(
                f"API token for {spec['beamline']} (Authorization: Bearer …; demo data only, the key is public): "
                f"{spec['key']}"
            )
        self.stdout.write("")
