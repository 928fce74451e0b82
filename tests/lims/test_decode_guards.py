"""Images the decoders cannot take are refused before any decoder runs: libdmtx asserts (and aborts the whole
process, a gunicorn worker with it) on images a few pixels across, so no caller of lims.barcodes.decode may
hand it one."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from lims.barcodes import decode
from lims.barcodes.decode import MIN_SIDE, DecodeError, decode_image, decode_pil
from lims.barcodes.testing import png_bytes
from tests.conftest import api_as

ROOT = Path(__file__).resolve().parents[2]

# Run in a child process: if libdmtx aborts, only the child dies and the test reports it.
CHILD = """
import sys
from PIL import Image
from lims.barcodes.decode import DecodeError, decode_image, decode_pil
from lims.barcodes.testing import png_bytes
try:
    decode_image(png_bytes(Image.new("L", (1, 1), 255)), fallback_budget_ms=500)
except DecodeError as exc:
    print(exc.code)
print(len(decode_pil(Image.new("L", (2, 2), 0), fallback_budget_ms=500)))
"""


def test_a_one_pixel_png_does_not_abort_the_process():
    child = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["too_small", "0"]


@pytest.fixture
def no_decoder(monkeypatch):
    """Any decoder that runs fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a decoder ran")

    monkeypatch.setattr(decode, "dmtx_decode", refuse)
    monkeypatch.setattr(decode.zxingcpp, "read_barcodes", refuse)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (15, 15), (15, 400), (400, 15), (5000, 3)])
def test_images_under_the_minimum_side_are_refused_before_any_decoder(no_decoder, size):
    with pytest.raises(DecodeError) as exc:
        decode_image(png_bytes(Image.new("L", size, 255)))
    assert exc.value.code == "too_small" and str(MIN_SIDE) in exc.value.message
    assert decode_pil(Image.new("RGB", size, "white")) == []


@pytest.mark.parametrize(
    ("mode", "size", "accepted"),
    [
        ("L", (16, 16), True),
        ("L", (15, 640), False),
        ("RGB", (640, 480), False),  # pylibdmtx infers the packing from the buffer: only 8-bit grey is sent
        ("I;16", (640, 480), False),
        ("L", (decode.MAX_PIXELS // 16 + 1, 16), False),
    ],
)
def test_pylibdmtx_is_given_only_images_it_accepts(monkeypatch, mode, size, accepted):
    calls = []
    monkeypatch.setattr(decode, "dmtx_decode", lambda image, **kw: calls.append(image.size) or [])
    image = Image.new(mode, (16, 16)) if size[0] > 100_000 else Image.new(mode, size)
    if size[0] > 100_000:  # the size only: no need for the pixels
        image._size = size
    decode._pylibdmtx(image, timeout_ms=100, max_count=1)
    assert decode.dmtx_accepts(image) is accepted
    assert calls == ([size] if accepted else [])


def test_a_long_thin_photo_is_not_reduced_below_the_minimum_side():
    # Non-images and decompression bombs are refused too: see BAD_UPLOADS in test_decode.py.
    loaded = decode._load(png_bytes(Image.new("L", (1_000_000, 20), 255)), work_pixels=decode.WORK_PIXELS)
    assert min(loaded.image.size) >= MIN_SIDE


def tiny_upload() -> dict:
    return {"image": SimpleUploadedFile("tiny.png", png_bytes(Image.new("L", (1, 1), 0)), content_type="image/png")}


@pytest.mark.django_db
def test_the_api_answers_a_one_pixel_png_with_400(member, no_decoder):
    response = api_as(member).post("/api/v1/barcodes/decode/", tiny_upload(), format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "too_small" and response.json()["detail"]


@pytest.mark.django_db
def test_the_page_shows_the_refusal_beside_the_field(client, member, no_decoder):
    client.force_login(member)
    response = client.post(reverse("barcode_decode"), tiny_upload())
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-describedby="e-image"' in html and f"at least {MIN_SIDE} px" in html.split('id="e-image"')[1]


@pytest.mark.django_db
def test_the_puck_audit_refuses_a_one_pixel_png(client, member, shipment, no_decoder):
    from tests.factories import ContainerFactory, DewarFactory

    container = ContainerFactory(dewar=DewarFactory(shipment=shipment))
    response = api_as(member).post(f"/api/v1/containers/{container.pk}/audit/", tiny_upload(), format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "too_small"
    client.force_login(member)
    page = client.post(reverse("samples:container_audit", args=[container.pk]), tiny_upload())
    assert page.status_code == 400 and f"at least {MIN_SIDE} px" in page.content.decode()
