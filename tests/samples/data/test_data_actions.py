"""Afterwards: flags, tags, moves and comments on collections, alone and in bulk, and their change log.

Personas: Alice (member of mx2345), Charlie (member of another proposal), beamline staff, anonymous.
"""

import itertools

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from lims.errors import DomainError
from lims.models import AuditEntry
from samples.data import actions
from samples.data.choices import ExperimentType, Flag
from samples.data.models import DataCollection, Tag
from samples.models import Sample
from tests import factories as f

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


@pytest.fixture
def samples(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, samples=2, name="Alice-1")
    return list(Sample.objects.filter(container__shipment=shipment).order_by("position"))


@pytest.fixture
def groups(proposal, isara, samples):
    session = f.SessionFactory(proposal=proposal, beamline=isara)
    first = f.collection_group(proposal=proposal, beamline=isara, sample=samples[0], session=session)
    second = f.collection_group(
        proposal=proposal, beamline=isara, sample=samples[1], experiment_type=ExperimentType.SCREENING
    )
    return first, second


@pytest.fixture
def mine(groups):
    return [f.collection(groups[0]) for _ in range(3)]


@pytest.fixture
def theirs(other_proposal, isara):
    group = f.collection_group(proposal=other_proposal, beamline=isara)
    return [f.collection(group, flags=Flag.BAD)]


def dc_entries():
    """Audit entries on collections (making the shipment wrote its own)."""
    return AuditEntry.objects.filter(content_type__model="datacollection")


def log_of(collection):
    return list(actions.collection_change_log(collection).order_by("id"))


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- services -------------------------------------------------------------------------------------------


def test_flag_one_collection_writes_its_change_log(member, mine):
    (changed,) = actions.collections_flag(user=member, collections=[mine[0]], flag=Flag.BAD)
    assert changed.pk == mine[0].pk
    mine[0].refresh_from_db()
    assert mine[0].flags == Flag.BAD and mine[0].flag_names == ["Bad"]
    (entry,) = log_of(mine[0])
    assert entry.user == member and entry.action == "update"
    assert entry.changes == {"flags": [0, 8]} and entry.message == "Flagged bad"


def test_flags_are_a_mask_set_and_cleared_in_bulk_with_one_entry_per_changed_collection(member, mine):
    DataCollection.objects.filter(pk=mine[0].pk).update(flags=Flag.ALIGNMENT | Flag.MEASUREMENT)
    changed = actions.collections_flag(user=member, collections=mine, flag=Flag.MEASUREMENT)
    # The first had it already: no change, no entry.
    assert {c.pk for c in changed} == {mine[1].pk, mine[2].pk}
    assert sorted(DataCollection.objects.values_list("flags", flat=True)) == [4, 4, 5]
    assert dc_entries().count() == 2

    actions.collections_flag(user=member, collections=mine, flag=Flag.MEASUREMENT, on=False)
    assert sorted(DataCollection.objects.values_list("flags", flat=True)) == [0, 0, 1]
    assert [e.changes for e in log_of(mine[0])] == [{"flags": [5, 1]}]
    assert [e.message for e in log_of(mine[1])] == ["Flagged measurement", "Unflagged measurement"]


def test_an_unknown_flag_is_refused(member, mine):
    with pytest.raises(ValidationError):
        actions.collections_flag(user=member, collections=mine, flag=16)
    assert not dc_entries().exists()


def test_tags_are_normalised_added_and_removed_in_bulk(member, mine):
    changed = actions.collections_tag(user=member, collections=mine[:2], tag="  Ligand-Soak ")
    assert len(changed) == 2
    assert list(Tag.objects.values_list("name", flat=True)) == ["ligand-soak"]
    actions.collections_tag(user=member, collections=mine, tag="best_1")
    assert sorted(mine[0].tags.values_list("name", flat=True)) == ["best_1", "ligand-soak"]
    assert [e.changes for e in log_of(mine[0])] == [
        {"tags": [[], ["ligand-soak"]]},
        {"tags": [["ligand-soak"], ["best_1", "ligand-soak"]]},
    ]
    # Taking it off the three: only the two that had it change.
    assert len(actions.collections_tag(user=member, collections=mine, tag="LIGAND-soak", on=False)) == 2
    assert not mine[1].tags.filter(name="ligand-soak").exists()
    assert log_of(mine[1])[-1].message == "Untagged ligand-soak"
    # An unknown tag taken off changes nothing.
    assert actions.collections_tag(user=member, collections=mine, tag="never-used", on=False) == []


@pytest.mark.parametrize("bad", ["", "   ", "two words", "x" * 41, "ß-tag", "semi;colon", "a/b"])
def test_bad_tags_are_refused_and_nothing_is_written(member, mine, bad):
    with pytest.raises(ValidationError):
        actions.collections_tag(user=member, collections=mine, tag=bad)
    assert not Tag.objects.exists() and not dc_entries().exists()


def test_move_between_groups_of_the_proposal_carries_session_sample_and_type(member, groups, mine, samples):
    target = groups[1]
    moved = actions.collections_move(user=member, collections=mine[:2], group=target)
    assert len(moved) == 2
    for collection in mine[:2]:
        collection.refresh_from_db()
        assert collection.group_id == target.pk
        assert collection.session_id is None and collection.sample_id == samples[1].pk
        assert collection.protein_id == samples[1].protein_id
        assert collection.experiment_type == ExperimentType.SCREENING
        assert samples[1].name.lower() in collection.search_text
    (entry,) = log_of(mine[0])
    assert entry.changes["group_id"] == [groups[0].pk, target.pk]
    assert entry.changes["sample_id"] == [samples[0].pk, samples[1].pk]
    assert entry.changes["experiment_type"] == ["osc", "screening"]
    assert entry.changes["session_id"][1] is None
    assert "search_text" not in entry.changes
    # Moving into the group it is in already changes nothing.
    assert actions.collections_move(user=member, collections=mine[:1], group=target) == []


def test_move_into_another_proposals_group_is_refused_whole(member, admin_user, mine, theirs):
    foreign = theirs[0].group
    # Alice does not see the group.
    with pytest.raises(actions.NotYours):
        actions.collections_move(user=member, collections=mine, group=foreign)
    # Staff see it, but collections stay in their own proposal.
    with pytest.raises(DomainError) as refused:
        actions.collections_move(user=admin_user, collections=mine, group=foreign)
    assert refused.value.code == "other_proposal"
    assert set(DataCollection.objects.filter(pk__in=[c.pk for c in mine]).values_list("group", flat=True)) == {
        mine[0].group_id
    }
    assert not dc_entries().exists()


def test_move_to_a_group_on_another_beamline_is_refused(member, proposal, mine):
    elsewhere = f.collection_group(proposal=proposal, beamline=f.BeamlineFactory(name="MX-1"))
    with pytest.raises(DomainError) as refused:
        actions.collections_move(user=member, collections=mine, group=elsewhere)
    assert refused.value.code == "other_beamline"


def test_a_batch_with_an_outsiders_collection_is_refused_and_nothing_is_half_saved(member, mine, theirs):
    with pytest.raises(actions.NotYours):
        actions.collections_flag(user=member, collections=[*mine, *theirs], flag=Flag.CALIBRATION)
    assert set(DataCollection.objects.values_list("flags", flat=True)) == {0, Flag.BAD}
    with pytest.raises(actions.NotYours):
        actions.collections_tag(user=member, collections=[*mine, *theirs], tag="mine")
    assert not DataCollection.tags.through.objects.exists()
    assert not dc_entries().exists()


def test_staff_may_flag_any_proposals_collections(beamline_staff, theirs):
    actions.collections_flag(user=beamline_staff, collections=theirs, flag=Flag.CALIBRATION)
    theirs[0].refresh_from_db()
    assert theirs[0].flags == Flag.BAD | Flag.CALIBRATION
    assert log_of(theirs[0])[0].user == beamline_staff


def test_comment_is_replaced_and_logged(member, mine, outsider):
    actions.collection_comment(user=member, collection=mine[0], comments="  Ice rings from image 40. ")
    mine[0].refresh_from_db()
    assert mine[0].comments == "Ice rings from image 40."
    actions.collection_comment(user=member, collection=mine[0], comments="Ice rings from image 40.")
    assert [e.changes for e in log_of(mine[0])] == [{"comments": ["", "Ice rings from image 40."]}]
    with pytest.raises(actions.NotYours):
        actions.collection_comment(user=outsider, collection=mine[0], comments="mine now")


def test_the_change_log_is_every_change_in_order(member, groups, mine):
    collection = mine[0]
    actions.collections_flag(user=member, collections=[collection], flag=Flag.ALIGNMENT)
    actions.collections_tag(user=member, collections=[collection], tag="best")
    actions.collections_move(user=member, collections=[collection], group=groups[1])
    actions.collection_comment(user=member, collection=collection, comments="re-used")
    assert [e.message for e in actions.collection_change_log(collection)] == [
        "Comment changed",
        f"Moved to group {groups[1].pk} ({groups[1]})",
        "Tagged best",
        "Flagged alignment",
    ]
    # Only this collection's entries.
    assert not actions.collection_change_log(mine[1]).exists()


# --- the bulk page ---------------------------------------------------------------------------------------


def post_bulk(client, ids, action, **fields):
    return client.post(reverse("data:bulk"), {"ids": [str(i) for i in ids], "action": action, **fields})


def test_bulk_flag_applies_to_the_visible_ticked_rows_and_returns_to_next(member, mine, theirs):
    client = client_of(member)
    ids = [c.pk for c in mine] + [theirs[0].pk]
    response = post_bulk(client, ids, "flag", flag=str(int(Flag.MEASUREMENT)), next="/data/?sort=-start")
    assert response.status_code == 302 and response["Location"] == "/data/?sort=-start"
    assert set(DataCollection.objects.filter(pk__in=[c.pk for c in mine]).values_list("flags", flat=True)) == {4}
    # Charlie's row was ignored: untouched, not logged.
    theirs[0].refresh_from_db()
    assert theirs[0].flags == Flag.BAD and not actions.collection_change_log(theirs[0]).exists()
    page = client.get("/data/cart/")  # any page shows the queued message
    assert "Flagged “Measurement” on 3 of 3 collections." in [str(m) for m in page.context["messages"]]


def test_bulk_on_nothing_visible_is_a_404_and_changes_nothing(outsider, mine):
    response = post_bulk(client_of(outsider), [c.pk for c in mine], "flag", flag="8")
    assert response.status_code == 404
    assert set(DataCollection.objects.values_list("flags", flat=True)) == {0}
    assert post_bulk(client_of(outsider), [], "flag", flag="8").status_code == 404


def test_bulk_needs_a_signed_in_user_and_a_post(client, member, mine):
    response = post_bulk(client, [mine[0].pk], "flag", flag="8")
    assert response.status_code == 302 and "/login" in response["Location"]
    assert client_of(member).get(reverse("data:bulk")).status_code == 405
    assert not dc_entries().exists()


@pytest.mark.parametrize(
    "target", ["https://evil.example.com/", "//evil.example.com/", "javascript:alert(1)", "data/x", ""]
)
def test_bulk_redirects_only_to_a_local_next(member, mine, target):
    response = post_bulk(client_of(member), [mine[0].pk], "unflag", flag="8", next=target)
    assert response["Location"] == "/data/"


def test_bulk_tag_untag_and_refusals_are_messages(member, mine):
    client = client_of(member)
    post_bulk(client, [c.pk for c in mine], "tag", tag="Soak-2")
    assert all(c.tags.filter(name="soak-2").exists() for c in mine)
    post_bulk(client, [mine[0].pk], "untag", tag="soak-2")
    assert not mine[0].tags.exists()
    for fields in ({"action": "tag", "tag": "no spaces please"}, {"action": "flag", "flag": "3"}, {"action": "x"}):
        action = fields.pop("action")
        response = post_bulk(client, [mine[0].pk], action, **fields)
        assert response.status_code == 302
    messages = [str(m) for m in client.get("/data/cart/").context["messages"]]
    assert messages[-3].startswith("A tag is 1 to 40") and messages[-2].startswith("Choose a flag")
    assert messages[-1] == "Choose what to do with the selected collections."
    assert len(log_of(mine[0])) == 2


def test_bulk_move_within_the_proposal_and_refused_into_a_foreign_group(member, groups, mine, theirs):
    client = client_of(member)
    post_bulk(client, [c.pk for c in mine], "move", group=str(groups[1].pk))
    assert set(DataCollection.objects.filter(pk__in=[c.pk for c in mine]).values_list("group", flat=True)) == {
        groups[1].pk
    }
    post_bulk(client, [c.pk for c in mine], "move", group=str(theirs[0].group_id))
    messages = [str(m) for m in client.get("/data/cart/").context["messages"]]
    assert messages[-1].startswith("Choose a group of your proposal")
    assert DataCollection.objects.filter(group=theirs[0].group).count() == 1


def test_bulk_cart_adds_to_the_open_cart_once(member, mine, theirs):
    client = client_of(member)
    post_bulk(client, [mine[0].pk, mine[1].pk, theirs[0].pk], "cart")
    post_bulk(client, [mine[1].pk, mine[2].pk], "cart", next="/data/cart/")
    cart = member.download_carts.get()
    assert sorted(cart.collections.values_list("pk", flat=True)) == sorted(c.pk for c in mine)


def test_comment_page(member, outsider, mine):
    url = reverse("data:comment", args=[mine[0].pk])
    assert client_of(outsider).post(url, {"comments": "hi"}).status_code == 404
    response = client_of(member).post(url, {"comments": "Good one", "next": f"/data/{mine[0].pk}/"})
    assert response["Location"] == f"/data/{mine[0].pk}/"
    mine[0].refresh_from_db()
    assert mine[0].comments == "Good one"


def test_the_change_log_partial_shows_who_what_and_the_changes(member, mine):
    from django.template.loader import render_to_string

    actions.collections_flag(user=member, collections=[mine[0]], flag=Flag.BAD)
    actions.collections_tag(user=member, collections=[mine[0]], tag="best")
    html = render_to_string(
        "samples/data/actions/_change_log.html", {"change_log": actions.collection_change_log(mine[0])}
    )
    assert "Flagged bad" in html and "Tagged best" in html and "flag Bad set" in html and "tag best added" in html
    assert member.get_full_name() in html
    assert "No changes" in render_to_string("samples/data/actions/_change_log.html", {"change_log": []})


def test_the_collection_page_tells_the_change_log_in_words_and_the_flux_as_a_power_of_ten(member, mine):
    DataCollection.objects.filter(pk=mine[0].pk).update(flux=3.2e12)
    actions.collections_tag(user=member, collections=[mine[0]], tag="ligand-soak")
    actions.collections_flag(user=member, collections=[mine[0]], flag=Flag.BAD)
    actions.collections_flag(user=member, collections=[mine[0]], flag=Flag.BAD, on=False)
    actions.collection_comment(user=member, collection=mine[0], comments="Best so far")

    page = client_of(member).get(reverse("data:collection", args=[mine[0].pk])).content.decode()

    log = page.split('id="change-log"')[1]
    for words in (
        "tag ligand-soak added",
        "flag Bad set",
        "flag Bad cleared",
        "comments set to &quot;Best so far&quot;",
    ):
        assert words in log, words
    assert "[]" not in log and "→" not in log
    assert "3.2 × 10¹²" in page.split('id="collection-facts"')[1]
