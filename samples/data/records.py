"""What beamline control records besides the sweeps: images, beamline setups and detectors, energy scans and
fluorescence (XRF) spectra. The services MXCuBE's calls reach through the ISPyB-compatible API.

    record_owner(principal, *, session=None, sample=None) -> Owner     whose a record is, checked
    image_store(*, principal, collection_id, image_number, values) -> Image        one per (collection, number)
    beamline_setup_store(*, principal, values, detector) -> BeamlineSetup
    session_setup_associate(*, principal, session_id, setup_id) -> SessionSetup
    detector_find(**names) -> Detector | None
    energy_scan_store(*, principal, owner, values) -> EnergyScan
    energy_scan_link_sample(*, principal, scan_id, sample_id) -> EnergyScan
    xrf_spectrum_store(*, principal, owner, values) -> XrfSpectrum

The rules are the ingest API's (``access.may_ingest``: a beamline's API token, beamline staff, admins): a
token writes its own beamline's records only, and a record links to the sessions and samples the principal
sees; a record is its session's proposal's (or its sample's), and a sample of another proposal than the
session's is refused. Readers see records as they see data collections (``record_visible_to``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404

from lims import access
from lims.access import scope_confidential
from lims.selectors import session_visible_to
from samples.selectors import sample_visible_to

from .models import BeamlineSetup, Detector, EnergyScan, Image, SessionSetup, XrfSpectrum
from .selectors import collection_writable_by


@dataclass(frozen=True)
class Owner:
    """Whose a record is and where it was made: ids only."""

    proposal_id: int
    beamline_id: int
    session_id: int | None
    sample_id: int | None


def _token(principal):
    return principal.token if access.is_machine(principal) else None


def _on_its_beamline(records: QuerySet, principal) -> QuerySet:
    """Of ``records`` (setups, scans, spectra), a token's beamline's; all of them for people (their own scope applies)."""
    return records.filter(beamline_id=principal.beamline_id) if access.is_machine(principal) else records


def record_owner(principal, *, session: int | None = None, sample: int | None = None) -> Owner:
    """The owner of a record made in ``session`` on ``sample`` (ids; either may be None), among what the
    principal sees. ValidationError naming ``session`` or ``sample`` otherwise."""
    errors: dict[str, list[str]] = {}
    found_session = found_sample = None
    if session is not None:
        found_session = (
            session_visible_to(principal)
            .filter(pk=session)
            .order_by()
            .values("pk", "beamline_id", "proposal_id")
            .first()
        )
        if found_session is None:
            errors["session"] = ["No such session."]
    if sample is not None:
        found_sample = (
            sample_visible_to(principal)
            .filter(pk=sample)
            .order_by()
            .values("pk", "container__shipment__proposal_id", "container__beamline_id")
            .first()
        )
        if found_sample is None:
            errors["sample"] = ["No such sample."]
    if errors:
        raise ValidationError(errors)
    if (
        found_session
        and found_sample
        and found_session["proposal_id"] != found_sample["container__shipment__proposal_id"]
    ):
        raise ValidationError({"sample": ["This sample is another proposal's than the session's."]})
    if found_session is not None:
        beamline_id, proposal_id = found_session["beamline_id"], found_session["proposal_id"]
    elif found_sample is not None:
        proposal_id = found_sample["container__shipment__proposal_id"]
        beamline_id = principal.beamline_id if access.is_machine(principal) else found_sample["container__beamline_id"]
        if beamline_id is None:
            raise ValidationError({"session": ["Give the session: the sample is in no sample changer."]})
    else:
        raise ValidationError({"session": ["Give the session (or the sample): whose record is this?"]})
    return Owner(
        proposal_id=proposal_id,
        beamline_id=beamline_id,
        session_id=found_session["pk"] if found_session else None,
        sample_id=found_sample["pk"] if found_sample else None,
    )


def record_visible_to(model, user) -> QuerySet:
    """Energy scans or XRF spectra as ``user`` sees data: a token its beamline's, people as ``scope_confidential``."""
    return scope_confidential(_on_its_beamline(model.objects.all(), user), user, "proposal")


# --- images ---------------------------------------------------------------------------------------------------


def image_store(*, principal, collection_id: int, image_number: int, values: dict) -> Image:
    """Store (or update) image ``image_number`` of a collection the principal may write; the collection
    takes the first image's thumbnail and JPEG as its own when it has none (the catalogue shows them)."""
    access.may_ingest.require(principal)
    collection = collection_writable_by(principal).filter(pk=collection_id).order_by().first()
    if collection is None:
        raise Http404("No such data collection.")
    with transaction.atomic():
        image, _created = Image.objects.update_or_create(
            data_collection=collection, image_number=image_number, defaults=values
        )
        changed = {}
        if values.get("thumbnail_path") and not collection.thumbnail_path:
            changed["thumbnail_path"] = values["thumbnail_path"]
        if values.get("jpeg_path") and not collection.snapshot_path:
            changed["snapshot_path"] = values["jpeg_path"]
        if changed:
            type(collection).objects.filter(pk=collection.pk).update(**changed)
    return image


# --- beamline setups and detectors ---------------------------------------------------------------------------


def detector_find(*, manufacturer: str, model: str, mode: str = "", type: str = "") -> Detector | None:  # noqa: A002
    """The detector of that manufacturer and model (case-insensitive), in ``mode`` and of ``type`` when given."""
    detectors = Detector.objects.filter(manufacturer__iexact=manufacturer, model__iexact=model)
    if mode:
        detectors = detectors.filter(mode__iexact=mode)
    if type:
        detectors = detectors.filter(type__iexact=type)
    return detectors.order_by("pk").first()


def _detector(names: dict) -> Detector | None:
    """The detector named in a setup, made the first time a beamline reports it."""
    if not names.get("manufacturer") or not names.get("model"):
        return None
    found = detector_find(**names)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Detector.objects.create(**names)
    except IntegrityError:  # made by another request at the same moment
        return detector_find(**names)


def beamline_setup_store(*, principal, values: dict, detector: dict, synchrotron_mode: str = "") -> BeamlineSetup:
    """A beamline setup as reported (``values`` kept whole); its detector found or made from ``detector``
    (manufacturer, model, mode, type). A token's setup is its beamline's; a person's takes the beamline of
    the session it is associated with."""
    access.may_ingest.require(principal)
    return BeamlineSetup.objects.create(
        beamline_id=principal.beamline_id if access.is_machine(principal) else None,
        detector=_detector(detector),
        synchrotron_mode=synchrotron_mode,
        values=values,
        token=_token(principal),
    )


def session_setup_associate(*, principal, session_id: int, setup_id: int) -> SessionSetup:
    """The session ran with this setup (replacing the one it had)."""
    access.may_ingest.require(principal)
    session = session_visible_to(principal).filter(pk=session_id).order_by().values("pk", "beamline_id").first()
    if session is None:
        raise Http404("No such session.")
    setup = _on_its_beamline(BeamlineSetup.objects.filter(pk=setup_id), principal).first()
    if setup is None:
        raise ValidationError({"beamLineSetupId": ["No such beamline setup."]})
    if setup.beamline_id is not None and setup.beamline_id != session["beamline_id"]:
        raise ValidationError({"beamLineSetupId": ["This setup is another beamline's than the session's."]})
    with transaction.atomic():
        if setup.beamline_id is None:
            BeamlineSetup.objects.filter(pk=setup.pk).update(beamline_id=session["beamline_id"])
        link, _created = SessionSetup.objects.update_or_create(session_id=session["pk"], defaults={"setup": setup})
    return link


# --- energy scans and XRF spectra ------------------------------------------------------------------------------


def _record(model, principal, owner: Owner, values: dict):
    access.may_ingest.require(principal)
    if access.is_machine(principal) and owner.beamline_id != principal.beamline_id:
        raise ValidationError({"session": ["This token writes its own beamline's records only."]})
    return model.objects.create(
        proposal_id=owner.proposal_id,
        beamline_id=owner.beamline_id,
        session_id=owner.session_id,
        sample_id=owner.sample_id,
        token=_token(principal),
        **values,
    )


def energy_scan_store(*, principal, owner: Owner, values: dict) -> EnergyScan:
    return _record(EnergyScan, principal, owner, values)


def xrf_spectrum_store(*, principal, owner: Owner, values: dict) -> XrfSpectrum:
    return _record(XrfSpectrum, principal, owner, values)


def energy_scan_link_sample(*, principal, scan_id: int, sample_id: int) -> EnergyScan:
    """The scan was made on this sample (beamline control tells after storing the scan)."""
    access.may_ingest.require(principal)
    scan = _on_its_beamline(EnergyScan.objects.filter(pk=scan_id), principal).first()
    if scan is None:
        raise Http404("No such energy scan.")
    owner = record_owner(principal, session=scan.session_id, sample=sample_id)
    if owner.proposal_id != scan.proposal_id:
        raise ValidationError({"sample": ["This sample is another proposal's than the scan's."]})
    EnergyScan.objects.filter(pk=scan.pk).update(sample_id=sample_id)
    scan.sample_id = sample_id
    return scan
