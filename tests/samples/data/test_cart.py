"""The download cart: files under the data root only, progress, the email with the link, owner-only download.

The Celery task runs eagerly (no broker in tests), once the request's transaction has committed.
"""

import io
import os
import tarfile

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from samples.data import cart as cart_module
from samples.data.cart import cart_add, cart_request_build, collection_files, template_pattern
from samples.data.choices import CartStatus
from samples.data.models import DownloadCart
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def roots(tmp_path, settings):
    settings.DATA_ROOT = tmp_path / "data"
    settings.DOWNLOAD_ROOT = tmp_path / "downloads"
    settings.SITE_URL = "https://lims.example.org"
    settings.DATA_ROOT.mkdir()
    return settings.DATA_ROOT, settings.DOWNLOAD_ROOT, tmp_path


def write(path, content: bytes = b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def on_disk(roots):
    """Two data sets of Alice's: three CBF images (and files that are not theirs), an Eiger master + data."""
    data, _, _ = roots
    for i in (1, 2, 3):
        write(data / "mx2345" / "s1" / f"lyso_1_{i:04d}.cbf", f"image {i}".encode())
    write(data / "mx2345" / "s1" / "lyso_1_0001.cbf.bak")
    write(data / "mx2345" / "s1" / "lyso_10_0001.cbf")
    write(data / "mx2345" / "s1" / "notes.txt")
    write(data / "mx2345" / "s2" / "thau_master.h5", b"master")
    write(data / "mx2345" / "s2" / "thau_data_000001.h5", b"data 1")
    write(data / "mx2345" / "s2" / "thau_data_000002.h5", b"data 2")
    write(data / "mx2345" / "s2" / "thau2_master.h5")
    return data


@pytest.fixture
def group(proposal, isara):
    return f.collection_group(proposal=proposal, beamline=isara)


@pytest.fixture
def collections(group, on_disk):
    return [
        f.collection(group, directory=str(on_disk / "mx2345" / "s1"), file_template="lyso_1_####.cbf"),
        # Relative to the data root.
        f.collection(group, directory="mx2345/s2", file_template="thau_master.h5"),
    ]


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def build(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("data:cart_build"), data)
    assert response.status_code == 302
    return response


def names_in(cart) -> list[str]:
    with tarfile.open(cart_module.archive_path(cart)) as tar:
        return sorted(tar.getnames())


EXPECTED = [
    "mx2345/s1/lyso_1_0001.cbf",
    "mx2345/s1/lyso_1_0002.cbf",
    "mx2345/s1/lyso_1_0003.cbf",
    "mx2345/s2/thau_data_000001.h5",
    "mx2345/s2/thau_data_000002.h5",
    "mx2345/s2/thau_master.h5",
]


def test_templates_stand_for_their_files():
    cbf = template_pattern("lyso_1_####.cbf")
    assert cbf.match("lyso_1_0042.cbf") and not cbf.match("lyso_1_042.cbf") and not cbf.match("lyso_1_0042.cbf.bak")
    h5 = template_pattern("thau_master.h5")
    assert h5.match("thau_master.h5") and h5.match("thau_data_000017.h5") and not h5.match("thau2_data_000001.h5")
    assert template_pattern("single.img").match("single.img") and not template_pattern("single.img").match("singleximg")


def test_the_cart_page_builds_a_tar_of_the_files_and_emails_the_link(
    member, collections, roots, django_capture_on_commit_callbacks
):
    client = client_of(member)
    client.post(reverse("data:bulk"), {"ids": [c.pk for c in collections], "action": "cart"})
    page = client.get(reverse("data:cart"))
    assert page.status_code == 200
    assert page.context["files_total"] == 6 and len(page.context["collections"]) == 2
    assert b"Build download" in page.content

    build(client, django_capture_on_commit_callbacks)
    cart = DownloadCart.objects.get(user=member)
    assert cart.status == CartStatus.READY and (cart.files_done, cart.files_total) == (6, 6)
    assert cart.error == "" and cart.finished_at is not None
    assert cart.archive.startswith(f"{cart.pk}-") and cart.archive.endswith(".tar")
    assert cart_module.archive_path(cart).parent == roots[1]
    assert names_in(cart) == EXPECTED
    # Nothing half-written is left beside it.
    assert os.listdir(roots[1]) == [cart.archive]

    (message,) = mail.outbox
    link = f"https://lims.example.org/data/cart/{cart.pk}/download/"
    assert message.to == [member.email] and "ready" in message.subject
    assert link in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html" and f'href="{link}"' in html

    status = client.get(reverse("data:cart_status", args=[cart.pk])).json()
    assert status["status"] == "ready" and status["files_done"] == 6
    assert status["download_url"] == f"/data/cart/{cart.pk}/download/"
    page = client.get(reverse("data:cart"))
    assert page.context["cart"] is None and f"/data/cart/{cart.pk}/download/".encode() in page.content

    download = client.get(link)
    assert download.status_code == 200 and download.streaming
    assert "attachment" in download["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(b"".join(download.streaming_content))) as tar:
        assert tar.extractfile("mx2345/s1/lyso_1_0002.cbf").read() == b"image 2"


def test_the_next_add_opens_a_new_cart(member, collections, django_capture_on_commit_callbacks, roots):
    client = client_of(member)
    cart_add(user=member, collections=collections[:1])
    build(client, django_capture_on_commit_callbacks)
    second, added = cart_add(user=member, collections=collections)
    assert added == 2 and second.status == CartStatus.OPEN
    assert DownloadCart.objects.filter(user=member).count() == 2


def test_progress_is_written_as_the_files_go(
    member, collections, roots, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(cart_module, "PROGRESS_EVERY_FILES", 2)
    seen = []
    add = cart_module._add

    def watching(tar, real, arcname):
        seen.append(DownloadCart.objects.values_list("status", "files_done", "files_total").get())
        add(tar, real, arcname)

    monkeypatch.setattr(cart_module, "_add", watching)
    cart, _ = cart_add(user=member, collections=collections)
    build(client_of(member), django_capture_on_commit_callbacks)
    assert [s[0] for s in seen] == ["building"] * 6 and {s[2] for s in seen} == {6}
    assert [s[1] for s in seen] == [0, 0, 2, 2, 4, 4]


def test_paths_outside_the_data_root_and_escaping_symlinks_are_refused_and_reported(
    member, group, collections, roots, django_capture_on_commit_callbacks
):
    data, _, tmp = roots
    secret = write(tmp / "secret" / "lyso_9_0001.cbf", b"secret")
    write(tmp / "secret" / "lyso_9_0002.cbf", b"secret")
    # A symlinked image that leads out, and a symlinked directory that does.
    (data / "mx2345" / "s3").mkdir()
    os.symlink(secret, data / "mx2345" / "s3" / "lyso_9_0001.cbf")
    write(data / "mx2345" / "s3" / "lyso_9_0002.cbf", b"fine")
    os.symlink(tmp / "secret", data / "mx2345" / "escape")
    # A symlink that stays inside is fine.
    os.symlink(data / "mx2345" / "s1" / "lyso_1_0001.cbf", data / "mx2345" / "s3" / "lyso_9_0003.cbf")
    bad = [
        f.collection(group, directory=str(tmp / "secret"), file_template="lyso_9_####.cbf"),
        f.collection(group, directory="mx2345/../../secret", file_template="lyso_9_####.cbf"),
        f.collection(group, directory="mx2345/escape", file_template="lyso_9_####.cbf"),
        f.collection(group, directory="mx2345/s3", file_template="lyso_9_####.cbf"),
        f.collection(group, directory="mx2345/gone", file_template="lyso_9_####.cbf"),
    ]
    cart_add(user=member, collections=[*collections, *bad])
    build(client_of(member), django_capture_on_commit_callbacks)
    cart = DownloadCart.objects.get()
    assert cart.status == CartStatus.READY
    names = names_in(cart)
    assert names == sorted([*EXPECTED, "mx2345/s3/lyso_9_0002.cbf"])  # the inside link is lyso_1_0001 already
    assert not any("secret" in n for n in names)
    with tarfile.open(cart_module.archive_path(cart)) as tar:
        assert all(tar.extractfile(n).read() != b"secret" for n in names)
    error = cart.error
    assert f"Collection {bad[0].pk}" in error and f"Collection {bad[1].pk}" in error
    assert f"Collection {bad[2].pk}" in error and "outside the data root, refused" in error
    assert f"Collection {bad[3].pk} (mx2345/s3/lyso_9_####.cbf): lyso_9_0001.cbf leads outside" in error
    assert f"Collection {bad[4].pk}" in error and "not there" in error
    # The page and the email say what was left out.
    assert "leads outside" in mail.outbox[0].body
    assert b"leads outside the data root" in client_of(member).get(reverse("data:cart")).content


def test_a_cart_with_nothing_under_the_root_fails_with_the_reason(
    member, group, roots, django_capture_on_commit_callbacks
):
    outside = f.collection(group, directory="/etc", file_template="passwd")
    cart_add(user=member, collections=[outside])
    client = client_of(member)
    assert client.get(reverse("data:cart")).context["refused"]
    build(client, django_capture_on_commit_callbacks)
    cart = DownloadCart.objects.get()
    assert cart.status == CartStatus.FAILED and "outside the data root" in cart.error
    assert not cart.archive and not mail.outbox
    assert client.get(reverse("data:cart_download", args=[cart.pk])).status_code == 404
    assert b"Try again" in client.get(reverse("data:cart")).content


def test_a_file_system_error_fails_the_cart_and_it_may_be_tried_again(
    member, collections, roots, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(tar, real, arcname):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(cart_module, "_add", broken)
    cart, _ = cart_add(user=member, collections=collections)
    client = client_of(member)
    build(client, django_capture_on_commit_callbacks)
    cart.refresh_from_db()
    assert cart.status == CartStatus.FAILED and "Input/output error" in cart.error
    assert not os.listdir(roots[1])  # the partial tar is gone
    assert b"Input/output error" in client.get(reverse("data:cart")).content

    monkeypatch.undo()
    build(client, django_capture_on_commit_callbacks, cart=str(cart.pk))
    cart.refresh_from_db()
    assert cart.status == CartStatus.READY and cart.error == "" and len(mail.outbox) == 1


def test_building_is_refused_when_empty_or_already_built(
    member, collections, roots, django_capture_on_commit_callbacks
):
    client = client_of(member)
    cart_add(user=member, collections=[])
    build(client, django_capture_on_commit_callbacks)
    assert "empty" in [str(m) for m in client.get(reverse("data:cart")).context["messages"]][0]
    cart, _ = cart_add(user=member, collections=collections)
    build(client, django_capture_on_commit_callbacks)
    cart.refresh_from_db()
    from lims.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        cart_request_build(user=member, cart=cart)


def test_only_the_owner_sees_and_downloads_a_cart(
    member, outsider, proposal, beamline_staff, admin_user, collections, roots, django_capture_on_commit_callbacks
):
    cart, _ = cart_add(user=member, collections=collections)
    build(client_of(member), django_capture_on_commit_callbacks)
    colleague = f.UserFactory(username="bob")
    f.ProposalMemberFactory(proposal=proposal, user=colleague)
    download = reverse("data:cart_download", args=[cart.pk])
    status = reverse("data:cart_status", args=[cart.pk])
    for user in (outsider, colleague, beamline_staff, admin_user):
        client = client_of(user)
        assert client.get(download).status_code == 404
        assert client.get(status).status_code == 404
        assert client.post(reverse("data:cart_build"), {"cart": str(cart.pk)}).status_code == 404
    anonymous = Client().get(download)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert client_of(member).get(download).status_code == 200


def test_an_outsider_cannot_put_alices_collections_in_a_cart(outsider, collections, roots):
    cart, added = cart_add(user=outsider, collections=collections)
    assert added == 0 and not cart.collections.exists()


def test_the_download_is_gone_when_the_tar_is(member, collections, roots, django_capture_on_commit_callbacks):
    cart, _ = cart_add(user=member, collections=collections)
    build(client_of(member), django_capture_on_commit_callbacks)
    cart.refresh_from_db()
    cart_module.archive_path(cart).unlink()
    assert client_of(member).get(reverse("data:cart_download", args=[cart.pk])).status_code == 404


def test_remove_from_the_open_cart(member, collections, roots):
    cart, _ = cart_add(user=member, collections=collections)
    client = client_of(member)
    client.post(reverse("data:cart_remove"), {"ids": [str(collections[0].pk)]})
    assert list(cart.collections.values_list("pk", flat=True)) == [collections[1].pk]
    assert collection_files(cart.collections.all()).per_collection == {collections[1].pk: 3}
