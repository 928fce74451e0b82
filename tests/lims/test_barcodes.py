"""Code rules: what scanners send is normalised; every bad code is refused with a message naming the fault."""

import pytest
from django.core.exceptions import ValidationError

from lims.barcodes import (
    dewar_barcode,
    is_dewar_barcode,
    normalise,
    validate_code,
    validate_dewar_barcode,
    validate_location_code,
    validate_pin_code,
    validate_puck_code,
)
from samples.models import Container, Sample
from shipping.models import Location
from tests import factories as f


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AB12345678", "AB12345678"),
        ("  ab12345678  ", "AB12345678"),
        ("AB12345678\r\n", "AB12345678"),
        ("AB12345678\n", "AB12345678"),
        ("\tAB12345678\t", "AB12345678"),
        ("]d2AB12345678", "AB12345678"),  # AIM prefix of DataMatrix
        ("]C1UP-0001\r", "UP-0001"),  # Code 128
        ("]Q3ab12345678", "AB12345678"),  # QR code
        ("\x02AB12345678\x03", "AB12345678"),  # STX/ETX framing
        ("AB123\x1d45678", "AB12345678"),  # GS (FNC1) inside the data
        ("\ufeffAB12345678", "AB12345678"),  # a byte-order mark from a pasted file
        ("", ""),
        (None, ""),
        ("LOC-STORES", "LOC-STORES"),
    ],
)
def test_normalise_cleans_what_a_scanner_sends(raw, expected):
    assert normalise(raw) == expected


def test_normalise_keeps_a_bracket_that_is_not_an_aim_prefix():
    assert normalise("]X") == "]X"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("AB1234567", "AB1234567 has 9 characters; a pin code has 10."),
        ("AB123456789", "AB123456789 has 11 characters; a pin code has 10."),
        ("AB12-45678", "AB12-45678 contains '-'; a pin code uses only A-Z and 0-9."),
        ("AB12 45678", "AB12 45678 contains ' '; a pin code uses only A-Z and 0-9."),
        ("AB12É45678", "AB12É45678 contains 'É'; a pin code uses only A-Z and 0-9."),
        ("  \r\n", "The code is empty; a pin code is expected."),
    ],
)
def test_a_bad_pin_code_is_refused_with_what_is_wrong(raw, message):
    with pytest.raises(ValidationError) as exc:
        validate_pin_code(raw)
    assert exc.value.messages == [message]
    assert exc.value.code == "invalid_pin_code"


def test_a_good_pin_code_comes_back_normalised():
    assert validate_pin_code("]d2ab12345678\r\n") == "AB12345678"


def test_a_custom_simple_pin_pattern_gets_precise_messages(settings):
    settings.PIN_CODE_PATTERN = r"^[0-9]{8}$"
    assert validate_pin_code("12345678") == "12345678"
    with pytest.raises(ValidationError, match=r"AB345678 contains 'A'; a pin code uses only 0-9\."):
        validate_pin_code("AB345678")
    with pytest.raises(ValidationError, match=r"1234567 has 7 characters; a pin code has 8\."):
        validate_pin_code("1234567")


def test_a_custom_complex_pin_pattern_gets_a_message_quoting_it(settings):
    settings.PIN_CODE_PATTERN = r"^(ESRF|EMBL)[0-9]{6}$"
    assert validate_pin_code("esrf123456") == "ESRF123456"
    with pytest.raises(ValidationError) as exc:
        validate_pin_code("XXXX123456")
    assert exc.value.messages == ["XXXX123456 is not a pin code of this facility (pattern ^(ESRF|EMBL)[0-9]{6}$)."]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("UP_0001", "UP_0001 contains '_'; a puck code uses only A-Z, 0-9 and '-'."),
        ("P" * 21, f"{'P' * 21} has 21 characters; a puck code has 1 to 20."),
        ("", "The code is empty; a puck code is expected."),
    ],
)
def test_a_bad_puck_code_is_refused(raw, message):
    with pytest.raises(ValidationError) as exc:
        validate_puck_code(raw)
    assert exc.value.messages == [message]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("LOC/STORES", "LOC/STORES contains '/'; a location code uses only A-Z, 0-9 and '-'."),
        ("L" * 41, f"{'L' * 41} has 41 characters; a location code has 1 to 40."),
    ],
)
def test_a_bad_location_code_is_refused(raw, message):
    with pytest.raises(ValidationError) as exc:
        validate_location_code(raw)
    assert exc.value.messages == [message]


def test_good_puck_and_location_codes_come_back_normalised():
    assert validate_puck_code(" up-0001\n") == "UP-0001"
    assert validate_location_code("]C1loc-stores\r\n") == "LOC-STORES"


def test_dewar_barcodes_are_the_facility_code_and_a_padded_id(settings):
    settings.FACILITY_CODE, settings.DEWAR_BARCODE_PREFIX, settings.DEWAR_BARCODE_DIGITS = "DS", "", 6
    assert dewar_barcode(42) == "DS000042"
    assert dewar_barcode(1_234_567) == "DS1234567"  # grows rather than wraps: never reused
    settings.DEWAR_BARCODE_PREFIX, settings.DEWAR_BARCODE_DIGITS = "ESRF-", 8
    assert dewar_barcode(42) == "ESRF-00000042"
    assert is_dewar_barcode("esrf-00000042\r\n")


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("DS000042", True),
        ("]d2ds000042\r\n", True),
        ("DS1234567", True),
        ("DS00042", False),
        ("DS0000042", False),  # a padded number has exactly the digits
        ("XS000042", False),
        ("DS00004A", False),
        ("DS", False),
        ("", False),
    ],
)
def test_is_dewar_barcode(raw, valid):
    assert is_dewar_barcode(raw) is valid


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("XS000042", "XS000042 does not start with DS; a dewar barcode is DS followed by 6 digits, e.g. DS000042."),
        ("DS00004A", "DS00004A contains 'A' after DS; a dewar barcode is DS followed by 6 digits, e.g. DS000042."),
        ("DS00042", "DS00042 has 5 digits after DS; a dewar barcode is DS followed by 6 digits, e.g. DS000042."),
    ],
)
def test_a_bad_dewar_barcode_is_refused(raw, message):
    with pytest.raises(ValidationError) as exc:
        validate_dewar_barcode(raw)
    assert exc.value.messages == [message]


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown kind"):
        validate_code("sample", "X")


@pytest.mark.django_db
def test_a_new_dewar_gets_a_recognisable_barcode(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, samples=1)
    (dewar,) = shipment.dewars.all()
    assert dewar.barcode == dewar_barcode(dewar.pk) and is_dewar_barcode(dewar.barcode)


@pytest.mark.django_db
def test_model_fields_refuse_codes_that_are_not_normalised(proposal):
    puck = f.ContainerFactory(dewar__shipment__proposal=proposal, name="P1")
    container = Container(shipment=puck.shipment, dewar=puck.dewar, name="P9", capacity=16, barcode="up 1")
    with pytest.raises(ValidationError) as exc:
        container.full_clean(validate_unique=False, validate_constraints=False)
    assert exc.value.message_dict["barcode"] == ["up 1 contains 'u'; a puck code uses only A-Z, 0-9 and '-'."]
    location = Location(name="Shelf", barcode="LOC STORES")
    with pytest.raises(ValidationError) as exc:
        location.full_clean()
    assert exc.value.message_dict["barcode"] == ["LOC STORES contains ' '; a location code uses only A-Z, 0-9 and '-'."]
    sample = Sample(pin_code="ab12345678")
    with pytest.raises(ValidationError) as exc:
        sample.full_clean(exclude=["container", "protein", "position", "name"])
    assert exc.value.message_dict["pin_code"] == ["ab12345678 contains 'a'; a pin code uses only A-Z and 0-9."]


@pytest.mark.django_db
def test_the_shipment_service_normalises_scanned_codes(proposal, member):
    from shipping.services import shipment_create

    shipment = shipment_create(
        proposal=proposal,
        user=member,
        data={
            "name": "Scanned",
            "dewars": [
                {
                    "name": "D1",
                    "containers": [
                        {
                            "name": "P1",
                            "barcode": "]d2up-0001\r\n",
                            "samples": [
                                {"position": 1, "name": "s1", "protein_acronym": "LYS", "pin_code": "]d2ab12345678\r"}
                            ],
                        }
                    ],
                }
            ],
        },
    )
    container = shipment.containers.get()
    assert container.barcode == "UP-0001"
    assert container.samples.get().pin_code == "AB12345678"
