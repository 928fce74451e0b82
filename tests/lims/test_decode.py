"""Decoding photos: rotated, noisy, blurred, tilted, several codes, 12 MP, the pylibdmtx fallback, bad uploads,
the API and the page. The photos are made by lims.barcodes.testing (seeded), so each test sees the same pixels."""

import math
import struct
import time
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from lims.barcodes import decode
from lims.barcodes.decode import DecodeError, decode_image, decode_upload
from lims.barcodes.testing import backdrop, code_image, degrade, photo_jpeg, png_bytes
from tests.conftest import api_as

CODE = "AB12345678"


@pytest.fixture(autouse=True)
def short_budget(monkeypatch):
    """A photo without a code spends the whole fallback budget: keep it short so that the suite stays fast."""
    monkeypatch.setattr(decode, "FALLBACK_BUDGET_MS", 300)


def photo(code=CODE, module_px=6, quality=85, **kw) -> bytes:
    return photo_jpeg(degrade(code_image(code, module_px), quality=None, **kw), quality)


def texts(found) -> list[str]:
    return [f.text for f in found]


@pytest.mark.parametrize("angle", [0, 17, 45, 90, 133, 180, 222, 270, 301, 359])
def test_rotated_photos_decode(angle):
    assert texts(decode_image(photo(angle=angle, noise=6, blur=0.8, seed=angle))) == [CODE]


@pytest.mark.parametrize("noise", [5, 12, 20])
def test_noisy_photos_decode(noise):
    assert texts(decode_image(photo(angle=30, noise=noise, seed=noise))) == [CODE]


@pytest.mark.parametrize("blur", [0.6, 1.2, 1.8])
def test_blurred_photos_decode(blur):
    assert texts(decode_image(photo(angle=200, blur=blur, noise=4, seed=7))) == [CODE]


@pytest.mark.parametrize(("perspective", "angle"), [(0.05, 10), (0.1, 100), (0.15, 250)])
def test_perspective_distorted_photos_decode(perspective, angle):
    assert texts(decode_image(photo(angle=angle, perspective=perspective, noise=5, seed=3))) == [CODE]


def test_low_contrast_jpeg_decodes():
    assert texts(decode_image(photo(angle=75, contrast=0.6, noise=8, quality=60, seed=11))) == [CODE]


def test_several_codes_in_one_photo_are_found_where_they_are():
    scene = backdrop((640, 480), seed=5)
    placed = {"PIN0000001": (120, 110), "PIN0000002": (500, 140), "PIN0000003": (330, 370)}
    for code, (x, y) in placed.items():
        symbol = code_image(code, 5)
        scene.paste(symbol, (x - symbol.width // 2, y - symbol.height // 2))
    found = decode_image(photo_jpeg(degrade(scene, size=None, noise=5, blur=0.6, seed=5, quality=None), 85))

    assert sorted(texts(found)) == sorted(placed)
    for f in found:
        x, y = placed[f.text]
        assert math.dist((f.x, f.y), (x, y)) < 8, (f.text, f.x, f.y)
        assert 60 < f.size < 80  # 14 modules of 5 px, the quiet zone excluded


def test_a_12_megapixel_photo_decodes_with_positions_in_its_own_pixels():
    image = degrade(code_image(CODE, 20), angle=40, size=(4000, 3000), centre=(3100, 700), background=140, seed=1)
    found, width, height = decode_upload(photo_jpeg(image, 90))

    assert (width, height) == (4000, 3000)
    assert texts(found) == [CODE]
    assert math.dist((found[0].x, found[0].y), (3100, 700)) < 20
    assert 260 < found[0].size < 300  # 14 modules of 20 px


def test_positions_are_in_the_upright_photo_when_the_camera_set_an_exif_orientation():
    # The camera stored the pixels turned; the EXIF tag (6: rotate 90° clockwise to view) puts them upright.
    upright = degrade(code_image(CODE, 6), size=(640, 480), centre=(500, 100), background=150, quality=None)
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = BytesIO()
    stored.save(out, format="JPEG", quality=90, exif=exif.tobytes())

    found, width, height = decode_upload(out.getvalue())

    assert (width, height) == (640, 480)
    assert math.dist((found[0].x, found[0].y), (500, 100)) < 5


@pytest.mark.parametrize("angle", [0, 30, 90, 200])
def test_the_pylibdmtx_fallback_finds_the_code_where_it_is(monkeypatch, angle):
    data = png_bytes(degrade(code_image(CODE, 6), angle=angle, centre=(170, 130), background=160, quality=None))
    by_zxing = decode_image(data)[0]
    monkeypatch.setattr(decode, "_zxing", lambda image, **options: [])

    (found,) = decode_image(data)

    assert (found.text, found.decoder) == (CODE, "pylibdmtx")
    # Same place, and the same corners in the same order (top-left of the symbol first) as zxing-cpp's.
    assert math.dist((found.x, found.y), (170, 130)) < 4
    for ours, theirs in zip(found.corners, by_zxing.corners, strict=True):
        assert math.dist(ours, theirs) < 5, (found.corners, by_zxing.corners)


# --- regions (the puck audit reads a puck position by position) and stopping early --------------------


def scene_with_codes(placed: dict[str, tuple[int, int]], module_px=5) -> Image.Image:
    scene = backdrop((640, 480), seed=5)
    for code, (x, y) in placed.items():
        symbol = code_image(code, module_px)
        scene.paste(symbol, (x - symbol.width // 2, y - symbol.height // 2))
    return decode.load_upload(photo_jpeg(degrade(scene, size=None, noise=5, blur=0.6, seed=5, quality=None), 85)).image


@pytest.mark.parametrize("zxing", [True, False], ids=["zxing-cpp", "pylibdmtx"])
def test_a_region_is_read_with_positions_in_the_whole_image(monkeypatch, zxing):
    image = scene_with_codes({"PIN0000001": (120, 110), "PIN0000002": (500, 140)})
    if not zxing:
        monkeypatch.setattr(decode, "_zxing", lambda image, **options: [])

    reading = decode.decode_region(image, (440, 80, 560, 200), symbol_px=70, timeout_ms=2000)

    assert reading.finished is True
    (found,) = reading.codes
    assert found.text == "PIN0000002" and found.decoder == ("zxing-cpp" if zxing else "pylibdmtx")
    assert math.dist((found.x, found.y), (500, 140)) < 6
    assert 55 < found.size < 85  # back in the image's pixels, not the reduced region's


def test_an_empty_region_searched_to_the_end_is_finished_without_codes():
    image = scene_with_codes({"PIN0000001": (120, 110)})

    reading = decode.decode_region(image, (440, 80, 560, 200), symbol_px=70, timeout_ms=2000)

    assert reading == decode.RegionReading([], True)


def test_a_region_whose_search_runs_out_of_time_is_not_finished(monkeypatch):
    image = scene_with_codes({"PIN0000001": (120, 110)})

    def out_of_time(image, timeout, **kwargs):
        time.sleep(timeout / 1000)  # what libdmtx does when its time runs out: nothing, after the timeout
        return []

    monkeypatch.setattr(decode, "dmtx_decode", out_of_time)
    assert decode.decode_region(image, (440, 80, 560, 200), symbol_px=70, timeout_ms=60).finished is False
    # No time to start pylibdmtx at all: not finished either.
    assert decode.decode_region(image, (440, 80, 560, 200), symbol_px=70, timeout_ms=0).finished is False


def test_a_region_cut_by_the_edge_to_nothing_is_not_searched():
    image = scene_with_codes({"PIN0000001": (120, 110)})

    assert decode.decode_region(image, (630, 470, 700, 540), symbol_px=70, timeout_ms=500).finished is False


def refuse(*args, **kwargs):
    raise AssertionError("should not run")


def test_the_variations_add_to_a_first_pass_without_pylibdmtx(monkeypatch):
    """What a caller does when the first pass read too few: the variations, and no whole-image pylibdmtx."""
    image = scene_with_codes({"PIN0000001": (120, 110), "PIN0000002": (500, 140)})
    first = decode.decode_pil(image, fallback_budget_ms=0)
    one = [c for c in first if c.text == "PIN0000001"]
    monkeypatch.setattr(decode, "_pylibdmtx", refuse)

    assert sorted(texts(decode.decode_variations(image, one, budget_ms=2000, expected=2))) == [
        "PIN0000001",
        "PIN0000002",
    ]
    # Nothing more to find: every variation is tried, none reads anything new; the budget bounds them.
    assert texts(decode.decode_variations(image, one, budget_ms=0, expected=2)) == ["PIN0000001"]


# --- a photo without a readable code is answered after the first pass -----------------------------------


@pytest.mark.parametrize("size", [(640, 480), (2000, 1500)])
def test_a_photo_without_a_code_is_not_searched_after_the_first_pass(monkeypatch, size):
    """Nothing in it looks like a code: no variation, no pylibdmtx (which searched the whole photo for 1.5 s)."""
    data = photo_jpeg(degrade(backdrop(size, seed=4), size=None, noise=8, seed=4, quality=None), 85)
    monkeypatch.setattr(decode, "_variations", refuse)
    monkeypatch.setattr(decode, "_pylibdmtx", refuse)

    with pytest.raises(DecodeError) as exc:
        decode_image(data, fallback_budget_ms=5000)
    assert exc.value.code == "no_code"


def test_a_code_blurred_past_reading_is_not_searched_after_the_first_pass(monkeypatch):
    data = photo(angle=33, blur=8, noise=8, module_px=6, seed=2)
    monkeypatch.setattr(decode, "_pylibdmtx", refuse)

    assert decode.candidate_regions(decode.load_upload(data).image) == []
    with pytest.raises(DecodeError):
        decode_image(data, fallback_budget_ms=5000)


def test_the_candidate_regions_hold_the_code_and_little_else():
    image = decode.load_upload(photo(angle=50, centre=(470, 150), noise=12, seed=8)).image

    (box,) = decode.candidate_regions(image)

    assert box[0] < 470 < box[2] and box[1] < 150 < box[3]
    assert (box[2] - box[0]) * (box[3] - box[1]) < 0.15 * 640 * 480  # the symbol is ~125 px across, turned


def test_pylibdmtx_reads_only_the_candidate_regions_reduced(monkeypatch):
    """When nothing reads a code, pylibdmtx searches at most MAX_CANDIDATES small regions, never the photo."""
    scene = backdrop((640, 480), seed=6)
    for x, y in ((150, 120), (480, 330), (200, 380)):
        scene.paste(code_image(CODE, 6), (x, y))  # three symbols: more than MAX_CANDIDATES regions
    data = photo_jpeg(degrade(scene, size=None, noise=5, seed=6, quality=None), 85)
    monkeypatch.setattr(decode, "_zxing", lambda image, **options: [])
    calls = []
    monkeypatch.setattr(decode, "dmtx_decode", lambda image, **kwargs: calls.append(image.size) or [])

    with pytest.raises(DecodeError):
        decode_image(data, fallback_budget_ms=5000)

    assert len(calls) == decode.MAX_CANDIDATES
    assert all(w * h <= 120 * 120 for w, h in calls), calls  # a symbol ~70 px wide and its margin


def png_with_size(width: int, height: int) -> bytes:
    """A real PNG whose header claims ``width`` × ``height``: what a decompression bomb looks like."""
    small = png_bytes(Image.new("L", (8, 8), 255))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    start = small.index(b"IHDR") - 4
    end = start + 4 + len(chunk) + 4
    return small[:start] + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk)) + small[end:]


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


BAD_UPLOADS = {
    "empty": (b"", "empty"),
    "text": (b"Dewar,Container\nD1,P1\n", "not_an_image"),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "not_an_image"),
    "truncated png": (truncated(png_bytes(degrade(code_image(CODE), noise=10, quality=None))), "truncated"),
    "truncated jpeg": (truncated(photo()), "truncated"),
    "huge dimensions": (png_with_size(10_000, 10_000), "too_large"),
    "decompression bomb": (png_with_size(50_000, 50_000), "too_large"),
    "no code": (photo_jpeg(backdrop((640, 480), seed=2)), "no_code"),
}


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_bad_uploads_are_decode_errors_with_a_code(name):
    data, code = BAD_UPLOADS[name]
    with pytest.raises(DecodeError) as exc:
        decode_image(data, fallback_budget_ms=200)
    assert exc.value.code == code and exc.value.message


def test_a_file_over_the_size_limit_is_refused_unread(monkeypatch):
    monkeypatch.setattr(decode, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(DecodeError) as exc:
        decode_image(photo())
    assert exc.value.code == "too_large"


def test_transparent_png_is_read_as_on_white_paper():
    symbol = code_image(CODE, 6)
    rgba = Image.new("RGBA", symbol.size, (0, 0, 0, 0))
    rgba.putalpha(symbol.point(lambda v: 255 - v))  # black modules, transparent elsewhere
    assert texts(decode_image(png_bytes(rgba))) == [CODE]


# API


def upload(data: bytes, name: str = "photo.jpg") -> dict:
    return {"image": SimpleUploadedFile(name, data, content_type="image/jpeg")}


@pytest.mark.django_db
def test_api_decodes_an_uploaded_photo(member):
    response = api_as(member).post(
        "/api/v1/barcodes/decode/", upload(photo(angle=60, centre=(200, 300))), format="multipart"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["width"], body["height"]) == (640, 480) and body["elapsed_ms"] >= 0
    (code,) = body["codes"]
    assert code["text"] == CODE and code["decoder"] == "zxing-cpp"
    assert math.dist((code["x"], code["y"]), (200, 300)) < 5 and len(code["corners"]) == 4


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["empty", "text", "truncated jpeg", "decompression bomb", "no code"])
def test_api_answers_400_with_the_decode_error_code(member, name):
    data, code = BAD_UPLOADS[name]
    response = api_as(member).post("/api/v1/barcodes/decode/", upload(data), format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["detail"]


@pytest.mark.django_db
def test_api_without_a_file_is_a_400(member):
    client = api_as(member)
    response = client.post("/api/v1/barcodes/decode/", {}, format="multipart")
    assert response.status_code == 400 and response.json()["errors"] == {"image": ["No file was submitted."]}
    assert client.post("/api/v1/barcodes/decode/", {"image": "x"}, format="json").status_code == 400


@pytest.mark.django_db
def test_api_is_for_signed_in_users_only(api):
    response = api.post("/api/v1/barcodes/decode/", upload(photo()), format="multipart")
    assert response.status_code == 401
    assert api.post("/api/v1/barcodes/check/", {"kind": "pin", "code": CODE}, format="json").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "raw", "normalised"),
    [
        ("pin", "]d2ab12345678\r\n", "AB12345678"),
        ("puck", "up-0001", "UP-0001"),
        ("location", "LOC-STORES\n", "LOC-STORES"),
    ],
)
def test_api_check_gives_the_normalised_code(member, kind, raw, normalised):
    response = api_as(member).post("/api/v1/barcodes/check/", {"kind": kind, "code": raw}, format="json")
    assert response.status_code == 200 and response.json() == {"code": normalised, "valid": True}


@pytest.mark.django_db
def test_api_check_says_what_is_wrong(member):
    response = api_as(member).post("/api/v1/barcodes/check/", {"kind": "pin", "code": "AB1234567"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "AB1234567 has 9 characters; a pin code has 10."
    assert body["code"] == "invalid_pin_code" and body["valid"] is False


@pytest.mark.django_db
def test_api_check_refuses_an_unknown_kind(member):
    response = api_as(member).post("/api/v1/barcodes/check/", {"kind": "sample", "code": "X"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()["errors"]


# The page


@pytest.mark.django_db
def test_the_page_asks_for_a_photo_or_the_camera(client, member):
    client.force_login(member)
    response = client.get(reverse("barcode_decode"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    assert reverse("barcode_decode") in html  # in the navigation


@pytest.mark.django_db
def test_the_page_is_for_signed_in_users(client):
    response = client.get(reverse("barcode_decode"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_the_page_shows_the_codes_found_and_marks_them(client, member):
    client.force_login(member)
    response = client.post(reverse("barcode_decode"), upload(photo(angle=20, centre=(400, 200))))
    assert response.status_code == 200
    html = response.content.decode()
    assert CODE in html and "<polygon" in html and "data:image/jpeg;base64," in html
    assert 'viewBox="0 0 640 480"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "message"), [("text", "not an image"), ("no code", "No DataMatrix code")])
def test_the_page_explains_a_bad_upload(client, member, name, message):
    client.force_login(member)
    response = client.post(reverse("barcode_decode"), upload(BAD_UPLOADS[name][0]))
    assert response.status_code == 400 and message in response.content.decode()


@pytest.mark.django_db
def test_the_page_without_a_file_asks_for_one(client, member):
    client.force_login(member)
    response = client.post(reverse("barcode_decode"), {})
    assert response.status_code == 400 and "Choose a photo" in response.content.decode()
