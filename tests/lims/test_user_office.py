"""The user-office sync (lims.user_office, docs/user-office.md): proposals, members and sessions from a JSON or
CSV feed, idempotent, refused whole when wrong, every change audited, every run recorded."""

import datetime as dt
import http.server
import io
import json
import threading
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from lims.choices import FacilityRole
from lims.models import AuditEntry, LabContact, Proposal, ProposalMember, Session, UserOfficeSync
from lims.selectors import proposal_visible_to, session_visible_to
from lims.tasks import sync_user_office
from lims.user_office import settings as uo_settings
from lims.user_office import sync
from shipping.models import Shipment

from .. import factories as f
from ..conftest import api_as

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).parent / "user_office"
User = get_user_model()


@pytest.fixture
def facility(db):
    """The beamlines the example names (MX-1, MX-3) and the local contact it names (dora.staff)."""
    f.BeamlineFactory(name="MX-1")
    f.BeamlineFactory(name="MX-3")
    return f.UserFactory(username="dora.staff", groups=[FacilityRole.LOCAL_CONTACT])


def example() -> dict:
    return json.loads((EXAMPLES / "example.json").read_text())


def write(tmp_path, data, name="feed.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return str(path)


def sync_file(tmp_path, data, *args, name="feed.json") -> str:
    """Run the command on ``data`` written to a file; its output."""
    out = io.StringIO()
    call_command("sync_user_office", write(tmp_path, data, name), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def refused(tmp_path, data, name="feed.json") -> list[str]:
    """Run the command on a feed that must be refused; the errors it prints."""
    err = io.StringIO()
    with pytest.raises(CommandError, match="refused"):
        call_command("sync_user_office", write(tmp_path, data, name), stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines()


def state() -> dict:
    """Everything the sync writes, to compare before and after."""
    return {
        "proposals": sorted(Proposal.objects.values_list("code", "number", "title", "kind", "mail_in")),
        "users": sorted(User.objects.values_list("username", "email", "first_name", "last_name")),
        "members": sorted(ProposalMember.objects.values_list("proposal__number", "user__username", "role")),
        "sessions": sorted(
            Session.objects.values_list("external_id", "proposal__number", "beamline__name", "start", "end")
        ),
        "audit": AuditEntry.objects.count(),
    }


def test_first_sync_creates_proposals_users_memberships_and_sessions(facility, tmp_path):
    output = sync_file(tmp_path, example())

    mx = Proposal.objects.get(code="mx", number="4100")
    assert (mx.title, mx.kind, mx.mail_in) == ("Kinase inhibitors in complex", "academic", False)
    industrial = Proposal.objects.get(code="in", number="17")
    assert (industrial.kind, industrial.mail_in) == ("industrial", True)
    assert sorted(mx.memberships.values_list("user__username", "role")) == [
        ("anna.berg", "pi"),
        ("bob.cole", "coi"),
        ("chen.li", "member"),
    ]
    anna = User.objects.get(username="anna.berg")
    assert (anna.first_name, anna.last_name, anna.email) == ("Anna", "Berg", "anna.berg@uni.example")
    assert not anna.has_usable_password()
    assert set(proposal_visible_to(anna)) == {mx, industrial}
    session = Session.objects.get(external_id="UO-1001")
    assert (session.proposal, session.beamline.name, session.local_contact) == (mx, "MX-3", facility)
    assert session.start == dt.datetime(2025, 3, 10, 7, 0, tzinfo=dt.UTC)
    assert Session.objects.get(external_id="UO-1002").local_contact is None
    assert "+ proposal mx4100: title 'Kinase inhibitors in complex', kind 'academic', mail_in False" in output
    assert "+ session UO-1001 (mx4100): beamline 'MX-3', start '2025-03-10T08:00:00+01:00'" in output
    run = UserOfficeSync.objects.get()
    assert (run.status, run.dry_run, run.trigger) == ("ok", False, "command")
    assert (run.created, run.updated, run.deleted) == (2 + 4 + 5 + 3, 0, 0)  # proposals, users, members, sessions
    # Every change is audited, the sync as its author; a user's audit entry never holds the password hash.
    entries = AuditEntry.objects.filter(message="user-office sync")
    assert entries.filter(object_repr="anna.berg", action="create").exists()
    assert all("password" not in e.changes for e in AuditEntry.objects.all())
    assert AuditEntry.objects.filter(action="create").count() == 14


def test_the_csv_example_gives_what_the_json_example_gives(facility, tmp_path):
    sync_file(tmp_path, example())
    from_json = state()
    Proposal.objects.all().delete()
    User.objects.exclude(username="dora.staff").delete()
    sync_file(tmp_path, (EXAMPLES / "example.csv").read_text(), name="feed.csv")
    assert {k: v for k, v in state().items() if k != "audit"} == {k: v for k, v in from_json.items() if k != "audit"}


def test_a_second_run_changes_nothing(facility, tmp_path):
    sync_file(tmp_path, example())
    before = state()
    output = sync_file(tmp_path, example())
    assert state() == before  # no audit entry either
    assert "no changes" in output
    last = UserOfficeSync.objects.first()
    assert (last.status, last.changes, last.created, last.updated, last.deleted) == ("ok", [], 0, 0, 0)


def test_a_removed_member_loses_access(facility, tmp_path, client):
    sync_file(tmp_path, example())
    mx = Proposal.objects.get(number="4100")
    bob = User.objects.get(username="bob.cole")
    shipment = f.shipment_tree(proposal=mx, user=bob, name="Bobs")
    client.force_login(bob)
    assert client.get(reverse("shipping:detail", args=[shipment.pk])).status_code == 200
    assert api_as(bob).get(f"/api/v1/shipments/{shipment.pk}/").status_code == 200

    feed = example()
    feed["proposals"][0]["members"] = [m for m in feed["proposals"][0]["members"] if m["username"] != "bob.cole"]
    output = sync_file(tmp_path, feed)

    assert "- member bob.cole in mx4100: role 'coi'" in output
    assert not ProposalMember.objects.filter(user=bob).exists()
    assert mx not in proposal_visible_to(bob)
    assert not session_visible_to(bob).exists()
    assert client.get(reverse("shipping:detail", args=[shipment.pk])).status_code == 404
    assert api_as(bob).get(f"/api/v1/shipments/{shipment.pk}/").status_code == 404
    entry = AuditEntry.objects.get(action="delete", object_repr__startswith="bob.cole in mx4100")
    assert entry.message == "user-office sync"
    # What he entered stays: the user, the shipment and its lab contact.
    assert User.objects.filter(username="bob.cole").exists()
    assert Shipment.objects.filter(pk=shipment.pk).exists()
    assert LabContact.objects.filter(pk=shipment.sending_contact_id).exists()


def test_a_changed_role_and_changed_names_are_updated_and_audited(facility, tmp_path):
    sync_file(tmp_path, example())
    feed = example()
    feed["proposals"][0]["members"][2]["role"] = "coi"
    for proposal in feed["proposals"]:
        for member in proposal["members"]:
            if member["username"] == "anna.berg":
                member["last_name"], member["email"] = "Berg-Holm", "anna@newuni.example"
    feed["proposals"][0]["title"] = "Kinase inhibitors, second round"
    output = sync_file(tmp_path, feed)

    assert ProposalMember.objects.get(user__username="chen.li").role == "coi"
    anna = User.objects.get(username="anna.berg")
    assert (anna.last_name, anna.email) == ("Berg-Holm", "anna@newuni.example")
    assert Proposal.objects.get(number="4100").title == "Kinase inhibitors, second round"
    entry = AuditEntry.objects.filter(object_repr="anna.berg", action="update").get()
    assert entry.changes == {
        "email": ["anna.berg@uni.example", "anna@newuni.example"],
        "last_name": ["Berg", "Berg-Holm"],
    }
    assert "~ member chen.li in mx4100: role 'member' → 'coi'" in output
    assert UserOfficeSync.objects.first().updated == 3


def test_a_moved_session_moves_and_keeps_its_dewars_and_collections(facility, tmp_path):
    sync_file(tmp_path, example())
    session = Session.objects.get(external_id="UO-1001")
    mx = session.proposal
    dewar = f.DewarFactory(shipment=f.ShipmentFactory(proposal=mx), session=session)
    group = f.collection_group(proposal=mx, beamline=session.beamline, session=session)

    feed = example()
    moved = feed["proposals"][0]["sessions"][0]
    moved.update(beamline="MX-1", start="2025-03-17T08:00:00+01:00", end="2025-03-18T08:00:00+01:00")
    moved["local_contact"] = None
    output = sync_file(tmp_path, feed)

    session.refresh_from_db()
    assert Session.objects.filter(external_id="UO-1001").count() == 1
    assert (session.beamline.name, session.local_contact) == ("MX-1", None)
    assert session.start == dt.datetime(2025, 3, 17, 7, 0, tzinfo=dt.UTC)
    dewar.refresh_from_db()
    group.refresh_from_db()
    assert dewar.session_id == session.pk and group.session_id == session.pk
    assert "~ session UO-1001 (mx4100): beamline 'MX-3' → 'MX-1'" in output
    entry = AuditEntry.objects.get(action="update", object_id=str(session.pk))
    assert set(entry.changes) == {"beamline_id", "start", "end", "local_contact_id"}


def test_a_session_gone_from_the_feed_is_deleted_unless_something_refers_to_it(facility, tmp_path):
    sync_file(tmp_path, example())
    booked = Session.objects.get(external_id="UO-1001")
    f.collection_group(proposal=booked.proposal, beamline=booked.beamline, session=booked)  # related_name="+"
    local = f.SessionFactory(proposal=booked.proposal, beamline=booked.beamline)  # booked here: no user-office id
    feed = example()
    feed["proposals"][0]["sessions"] = []
    output = sync_file(tmp_path, feed)

    assert not Session.objects.filter(external_id="UO-1002").exists()  # nothing referred to it
    assert "- session UO-1002 (mx4100)" in output
    assert Session.objects.filter(pk=booked.pk).exists()
    assert Session.objects.filter(pk=local.pk).exists()
    run = UserOfficeSync.objects.first()
    assert run.deleted == 1
    assert run.warnings == [
        "session UO-1001 (mx4100) is no longer in the feed but is kept: it has data collection groups"
    ]


def test_nothing_users_entered_is_deleted_and_unlisted_proposals_are_left_alone(facility, tmp_path, member):
    sync_file(tmp_path, example())
    mx = Proposal.objects.get(number="4100")
    contact = f.LabContactFactory(proposal=mx)
    shipment = f.ShipmentFactory(proposal=mx, sending_contact=contact)
    alice_proposal = member.proposals.get()  # mx2345: not in the feed

    feed = example()
    del feed["proposals"][1]  # in17 drops out of the feed
    sync_file(tmp_path, feed)

    assert Proposal.objects.filter(code="in", number="17").exists()
    assert ProposalMember.objects.filter(proposal__number="17").count() == 2
    assert alice_proposal in proposal_visible_to(member)
    assert LabContact.objects.filter(pk=contact.pk).exists()
    assert Shipment.objects.filter(pk=shipment.pk).exists()
    assert Session.objects.filter(external_id="UO-1003").exists()


def test_users_are_matched_by_username_as_the_logins_match_them(facility, tmp_path):
    """Case-insensitively, like the directory's login: an account the identity provider made is the feed's user."""
    ldap_made = f.UserFactory(username="Anna.Berg", first_name="A.", last_name="Berg")
    ldap_made.set_unusable_password()
    ldap_made.save()
    sync_file(tmp_path, example())
    assert not User.objects.filter(username="anna.berg").exists()
    ldap_made.refresh_from_db()
    assert ldap_made.first_name == "Anna"
    assert set(ldap_made.proposals.values_list("number", flat=True)) == {"4100", "17"}
    assert "- member" not in sync_file(tmp_path, example())


def test_an_unknown_local_contact_is_a_warning_not_an_error(facility, tmp_path):
    feed = example()
    feed["proposals"][0]["sessions"][0]["local_contact"] = "new.staff"
    sync_file(tmp_path, feed)
    assert Session.objects.get(external_id="UO-1001").local_contact is None
    assert "no user 'new.staff'" in UserOfficeSync.objects.get().warnings[0]
    f.UserFactory(username="new.staff")
    sync_file(tmp_path, feed)
    assert Session.objects.get(external_id="UO-1001").local_contact.username == "new.staff"


BAD_FEEDS = {  # (replace, by) in example.json, and the error expected
    "unknown beamline": (
        ('"beamline": "MX-1"', '"beamline": "MX-9"'),
        "line 17 (proposals[0].sessions[1]), field beamline: unknown beamline 'MX-9' (beamlines: MX-1, MX-3)",
    ),
    "end before start": (
        ('"end": "2025-03-12T16:00:00Z"', '"end": "2025-03-12T07:00:00Z"'),
        "line 31 (proposals[1].sessions[0]), field end: the session must end after it starts",
    ),
    "bad role": (
        ('"role": "coi"', '"role": "boss"'),
        "line 12 (proposals[0].members[1]), field role: 'boss' is not one of pi, coi, member",
    ),
    "duplicate session id": (
        ('"id": "UO-1003"', '"id": "UO-1001"'),
        "line 31 (proposals[1].sessions[0]), field id: session UO-1001 is already on line 16",
    ),
    "no offset": (
        ('"start": "2025-03-10T08:00:00+01:00"', '"start": "2025-03-10T08:00:00"'),
        "line 16 (proposals[0].sessions[0]), field start: '2025-03-10T08:00:00' has no UTC offset",
    ),
    "unknown field": (
        ('"mail_in": true,', '"mail_in": true, "mailin": 1,'),
        "line 20 (proposals[1]), field mailin: unknown field",
    ),
    "malformed JSON": (
        ('"kind": "industrial",', '"kind": "industrial"'),
        "line 25: not valid JSON: Expecting ',' delimiter (column 7)",
    ),
}


@pytest.mark.parametrize("name", BAD_FEEDS)
def test_a_bad_feed_is_refused_whole_with_its_line_and_field(facility, tmp_path, name):
    sync_file(tmp_path, example())
    (old, new), message = BAD_FEEDS[name]
    text = (EXAMPLES / "example.json").read_text()
    assert text.count(old) == 1
    # Good changes elsewhere in the same feed (a title, a role) are not applied either.
    text = text.replace(old, new).replace("Kinase inhibitors in complex", "Changed")
    text = text.replace('"last_name": "Li", "role": "member"', '"last_name": "Li", "role": "coi"')
    before = state()
    errors = refused(tmp_path, text)
    assert state() == before
    assert errors[0] == message if name == "malformed JSON" else any(e.startswith(message) for e in errors), errors
    run = UserOfficeSync.objects.first()
    assert run.status == "failed" and run.changes == [] and run.errors


def test_every_error_is_listed_not_only_the_first(facility, tmp_path):
    feed = example()
    feed["proposals"][0]["members"][0]["role"] = "boss"
    feed["proposals"][0]["sessions"][0]["beamline"] = "MX-9"
    feed["proposals"][1]["members"][0]["email"] = "not an address"
    feed["proposals"][1]["number"] = "17a"
    errors = refused(tmp_path, feed)
    assert len(errors) == 4
    fields = [e.split("field ")[1].split(":")[0] for e in errors]
    assert sorted(fields) == ["beamline", "email", "number", "role"]
    assert not Proposal.objects.exists() and not Session.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("MX-1,2025-04-02", "MX-7,2025-04-02"), "line 10 (session), field beamline: unknown"),
        (lambda t: t.replace(",coi,", ",boss,"), "line 5 (member), field role: 'boss' is not one of"),
        (lambda t: t.replace("UO-1003", "UO-1002"), "line 11 (session), field session_id: session UO-1002 is"),
        (lambda t: t.replace("member,in,17,,,,eve", "member,in,18,,,,eve"), "line 7 (member), field code: no pro"),
        (lambda t: t.replace("Li,member,", 'Li,"member,'), "line 6: not valid CSV: unexpected end of data (a quoted"),
        (
            lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("member,in,17")),
            "line 3 (proposal), field members: a proposal has at least one member (its PI)",
        ),
        (lambda t: t.replace("start,end", "begin,end"), "line 1 (header): the columns are record, code"),
        (lambda t: t.replace("\nproposal,in", '\nproposal,in,"x""y'), "line 3: not valid CSV"),
    ],
    ids=["beamline", "role", "duplicate-id", "no-proposal-row", "unclosed-quote", "no-members", "header", "bad-quote"],
)
def test_a_bad_csv_feed_is_refused_with_its_line_and_field(facility, tmp_path, change, message):
    text = change((EXAMPLES / "example.csv").read_text())
    errors = refused(tmp_path, text, name="feed.csv")
    assert any(e.startswith(message) for e in errors), errors
    assert not Proposal.objects.exists() and not Session.objects.exists() and not AuditEntry.objects.exists()


def test_a_dry_run_prints_the_changes_and_writes_nothing(facility, tmp_path):
    sync_file(tmp_path, example())
    feed = example()
    feed["proposals"][0]["sessions"][0]["start"] = "2025-03-10T09:00:00+01:00"
    feed["proposals"][0]["members"].pop()
    before = state()
    output = sync_file(tmp_path, feed, "--dry-run")
    assert state() == before
    assert "~ session UO-1001 (mx4100): start '2025-03-10T07:00:00+00:00' → '2025-03-10T09:00:00+01:00'" in output
    assert "- member chen.li in mx4100" in output
    assert "Dry run, nothing written: 0 created, 1 updated, 1 deleted" in output
    run = UserOfficeSync.objects.first()
    assert run.dry_run and (run.updated, run.deleted) == (1, 1)


class _Feed(http.server.BaseHTTPRequestHandler):
    body = b""
    token = "s3cret-token"

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def feed_server():
    _Feed.body = (EXAMPLES / "example.csv").read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/export/proposals?since=all"
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_feed_is_read_with_its_token(facility, feed_server, settings):
    """A real HTTP server on the loopback: the feed's format comes from its Content-Type (text/csv)."""
    settings.USER_OFFICE_TOKEN = "wrong"
    run = sync.run(feed_server)
    assert run.status == "failed"
    assert run.errors[0]["message"] == "the user office answered 401 Unauthorized"
    assert not Proposal.objects.exists()

    settings.USER_OFFICE_TOKEN = _Feed.token
    run = sync.run(feed_server)
    assert run.status == "ok", run.errors
    assert Proposal.objects.count() == 2 and Session.objects.count() == 3
    assert run.source.endswith("/export/proposals?…")  # the query string (a key, perhaps) is not stored


def test_an_unreachable_url_is_a_failed_run(facility, settings):
    from ..conftest import free_port

    settings.USER_OFFICE_TIMEOUT = 5
    run = sync.run(f"http://127.0.0.1:{free_port()}/feed.json")
    assert run.status == "failed" and "cannot read" in run.errors[0]["message"]


def test_the_periodic_task_syncs_the_configured_feed(facility, tmp_path, settings):
    settings.USER_OFFICE_FEED = write(tmp_path, example())
    run_id = sync_user_office.delay().get()
    run = UserOfficeSync.objects.get(pk=run_id)
    assert (run.status, run.trigger, run.source) == ("ok", "task", settings.USER_OFFICE_FEED)
    assert Proposal.objects.count() == 2
    settings.USER_OFFICE_FEED = ""
    assert sync_user_office.delay().get() is None


def test_the_beat_schedule_has_the_sync_only_when_a_feed_is_set():
    def env_of(values):
        return lambda name, default="": values.get(name) or default

    ns = {"CELERY_BEAT_SCHEDULE": {"other": {}}}
    uo_settings.configure(ns, env_of({}))
    assert ns["USER_OFFICE_FEED"] == "" and set(ns["CELERY_BEAT_SCHEDULE"]) == {"other"}
    ns = {"CELERY_BEAT_SCHEDULE": {}}
    uo_settings.configure(ns, env_of({"USER_OFFICE_FEED": "https://uo.example/feed", "USER_OFFICE_SYNC_MINUTES": "10"}))
    assert ns["CELERY_BEAT_SCHEDULE"]["sync-user-office"] == {"task": "lims.tasks.sync_user_office", "schedule": 600.0}
    assert ns["USER_OFFICE_TIMEOUT"] == 30


def test_the_admin_shows_the_last_sync_its_changes_and_errors(facility, tmp_path, client, admin_user, settings):
    sync_file(tmp_path, example())
    feed = example()
    feed["proposals"][0]["sessions"][0]["beamline"] = "MX-9"
    refused(tmp_path, feed)
    client.force_login(admin_user)

    page = client.get(reverse("admin:lims_userofficesync_changelist")).content.decode()
    assert "Last sync:" in page and "refused, 1 error(s)" in page
    good, bad = UserOfficeSync.objects.order_by("id")
    page = client.get(reverse("admin:lims_userofficesync_change", args=[good.pk])).content.decode()
    assert "+ proposal mx4100" in page and "+ session UO-1001 (mx4100)" in page
    page = client.get(reverse("admin:lims_userofficesync_change", args=[bad.pk])).content.decode()
    assert "field beamline: unknown beamline &#x27;MX-9&#x27;" in page

    # Run now, from the configured feed: the run shows on the page.
    settings.USER_OFFICE_FEED = write(tmp_path, example(), name="configured.json")
    page = client.get(reverse("admin:lims_userofficesync_changelist")).content.decode()
    assert "Sync now" in page
    response = client.post(reverse("admin:lims_userofficesync_run"), follow=True)
    assert "Sync: no changes." in response.content.decode()
    run = UserOfficeSync.objects.first()
    assert (run.trigger, run.user, run.status) == ("admin", admin_user, "ok")


def test_only_admins_run_the_sync_from_the_admin(facility, tmp_path, client, settings):
    settings.USER_OFFICE_FEED = write(tmp_path, example())
    clerk = f.UserFactory(username="clerk", is_staff=True, groups=[FacilityRole.STORES])
    client.force_login(clerk)
    assert client.post(reverse("admin:lims_userofficesync_run")).status_code == 403
    assert not UserOfficeSync.objects.exists()
