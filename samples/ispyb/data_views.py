"""What MXCuBE stores through the ISPyB-compatible API: data collection groups and collections, images, the
beamline setup and its detector, energy scans and XRF spectra (``docs/mxcube-contract.md``).

Each call is read in the keys MXCuBE sends (its "old style" collection dictionary: ``fileinfo``,
``oscillation_sequence``, ``sample_reference``...) and stored through the project's own services: data
collections through ``samples.data.ingest`` (so they land in the catalogue with their sample, under the
ingest API's rules), the rest through ``samples.data.records``. Values the models have no column for are
kept in the collection's ``metadata["ispyb"]``, never dropped.

Answers carry the ids in the keys MXCuBE reads. Where py-ispyb's client takes a whole answer as a bare id
(the energy scan's, the spectrum's, the setup's) or unpacks it as ``(collection id, group id)`` (a
collection's update), the answer is an object whose ``results`` holds that value: the client unwraps
``results``, and every other reader has the named keys.
"""

from __future__ import annotations

import uuid

from django.http import Http404
from django.utils import timezone

from lims import access

from ..data import ingest, records
from ..data.choices import CollectionStatus, ExperimentType
from ..data.models import DataCollectionGroup, Detector
from ..data.selectors import collection_visible_to, collection_writable_by, group_writable_by
from .http import (
    body,
    endpoint,
    invalid,
    iso,
    not_found,
    parse_id,
    parse_timestamp,
    reply,
)
from .reading import MM_TO_UM, number, owner, sample_id, text

# MXCuBE's words (``current_dc_parameters["status"]``, ``EXPERIMENT_TYPE_STR``) and ours.
STATUSES = {
    "running": CollectionStatus.RUNNING,
    "data collection successful": CollectionStatus.SUCCESSFUL,
    "successful": CollectionStatus.SUCCESSFUL,
    "failed": CollectionStatus.FAILED,
    "data collection failed": CollectionStatus.FAILED,
    "stopped": CollectionStatus.ABORTED,
    "aborted": CollectionStatus.ABORTED,
}
RUN_STATUS = {
    CollectionStatus.RUNNING: "Running",
    CollectionStatus.SUCCESSFUL: "Data collection successful",
    CollectionStatus.FAILED: "Failed",
    CollectionStatus.ABORTED: "Stopped",
}
EXPERIMENT_TYPES = {
    "osc": ExperimentType.OSC,
    "collect - multiwedge": ExperimentType.OSC,
    "sad": ExperimentType.SAD,
    "sad - inverse beam": ExperimentType.SAD,
    "mad": ExperimentType.MAD,
    "mad - inverse beam": ExperimentType.MAD,
    "helical": ExperimentType.HELICAL,
    "characterization": ExperimentType.SCREENING,
    "characterisation": ExperimentType.SCREENING,
    "screening": ExperimentType.SCREENING,
    "mesh": ExperimentType.MESH,
}
# Our types in ISPyB's words (DataCollectionGroup.experimentType), for what we answer.
ISPYB_EXPERIMENT_TYPES = {
    ExperimentType.OSC: "OSC",
    ExperimentType.SAD: "SAD",
    ExperimentType.MAD: "MAD",
    ExperimentType.HELICAL: "Helical",
    ExperimentType.SCREENING: "Characterization",
    ExperimentType.MESH: "Mesh",
    ExperimentType.OTHER: "OSC",
}
# E (keV) × λ (Å) = hc.
HC_KEV_ANGSTROM = 12.398419843320026
# The collection dictionary's values with no column of their own: kept in metadata["ispyb"].
KEPT_KEYS = (
    "xBeam",
    "yBeam",
    "resolutionAtCorner",
    "flux_end",
    "undulatorGap1",
    "undulatorGap2",
    "undulatorGap3",
    "slitGapHorizontal",
    "slitGapVertical",
    "beamShape",
    "synchrotronMode",
    "totalAbsorbedDose",
    "centringMethod",
    "actualCentringPosition",
    "xtalSnapshotFullPath2",
    "xtalSnapshotFullPath3",
    "xtalSnapshotFullPath4",
    "workflow_id",
    "energy",
    "anomalous",
    "experiment_type",
    "position_name",
)
# Ingest's field names as MXCuBE spells them, for error messages.
ISPYB_NAMES = {
    "sample": "sample_reference.blSampleId",
    "session": "sessionId",
    "start_time": "collection_start_time",
    "end_time": "collection_end_time",
    "directory": "fileinfo.directory",
    "file_template": "fileinfo.template",
    "first_image": "oscillation_sequence.start_image_number",
    "number_of_images": "oscillation_sequence.number_of_images",
    "exposure_time": "oscillation_sequence.exposure_time",
    "oscillation_start": "oscillation_sequence.start",
    "oscillation_range": "oscillation_sequence.range",
    "detector_distance": "detectorDistance",
    "beam_size_x": "beamSizeAtSampleX",
    "beam_size_y": "beamSizeAtSampleY",
    "snapshot_path": "xtalSnapshotFullPath1",
    "group": "group_id",
}


def _ispyb_errors(errors: dict) -> dict:
    return {ISPYB_NAMES.get(key, key): value for key, value in errors.items()}


# --- data collection groups -------------------------------------------------------------------------------------


def _experiment_type(data: dict) -> str:
    raw = data.get("experiment_type") or data.get("experimentType") or "OSC"
    return EXPERIMENT_TYPES.get(str(raw).strip().lower(), ExperimentType.OTHER)


def _group_item(group: DataCollectionGroup) -> dict:
    return {
        "dataCollectionGroupId": group.pk,
        "experimentType": ISPYB_EXPERIMENT_TYPES[group.experiment_type],
        "blSampleId": group.sample_id,
        "sessionId": group.session_id,
        "workflowId": None,
    }


@endpoint
def group_store(request, principal):
    """``POST datacollections/group`` with MXCuBE's collection dictionary: the group named by ``group_id``,
    else the group of the collection named by ``collection_id`` (an update: the collection stays where it
    is), else a new group of the session and sample."""
    access.may_ingest.require(principal)
    data = body(request)
    errors = {}
    group_id = parse_id(data.get("group_id"), "group_id", errors)
    collection_id = parse_id(data.get("collection_id"), "collection_id", errors)
    if errors:
        raise invalid(errors)
    group = None
    if group_id is not None:
        group = group_writable_by(principal).filter(pk=group_id).first()
        if group is None:
            raise not_found("No such data collection group.")
    elif collection_id is not None:
        group_pk = collection_writable_by(principal).filter(pk=collection_id).values_list("group_id", flat=True).first()
        if group_pk is None:
            raise not_found("No such data collection.")
        group = DataCollectionGroup.objects.get(pk=group_pk)
    if group is not None:
        comments = text(data, "comments", errors, max_length=10000)
        if comments and comments != group.comments:
            DataCollectionGroup.objects.filter(pk=group.pk).update(comments=comments)
        return reply(_group_item(group))
    found = owner(principal, data, errors)
    if errors:
        raise invalid(errors)
    group = DataCollectionGroup.objects.create(
        proposal_id=found.proposal_id,
        beamline_id=found.beamline_id,
        session_id=found.session_id,
        sample_id=found.sample_id,
        experiment_type=_experiment_type(data),
        external_id=f"mxcube-{uuid.uuid4().hex}",
        comments=text(data, "comments", errors, max_length=10000),
    )
    return reply(_group_item(group), status=201)


# --- data collections ---------------------------------------------------------------------------------------------


def collection_item(principal, data: dict, errors: dict) -> dict:
    """An ingest item (``samples.data.ingest``) of MXCuBE's collection dictionary."""
    sequence = data.get("oscillation_sequence")
    oscillation = sequence[0] if isinstance(sequence, list) and sequence and isinstance(sequence[0], dict) else {}
    fileinfo = data.get("fileinfo") if isinstance(data.get("fileinfo"), dict) else {}
    item: dict = {}
    sample = sample_id(data)
    if sample is not None:
        item["sample"] = sample
    session_id = parse_id(data.get("sessionId"), "sessionId", errors)
    if session_id is not None:
        item["session"] = session_id
    status = data.get("status")
    if status is not None:
        item["status"] = STATUSES.get(str(status).strip().lower())
        if item["status"] is None:
            errors["status"] = ["Give one of: " + ", ".join(sorted({*STATUSES})) + "."]
    if data.get("experiment_type") is not None or data.get("experimentType") is not None:
        item["experiment_type"] = _experiment_type(data)
    start = parse_timestamp(data.get("collection_start_time") or data.get("startTime"), "collection_start_time", errors)
    end = parse_timestamp(data.get("collection_end_time") or data.get("endTime"), "collection_end_time", errors)
    if start is not None:
        item["start_time"] = start.isoformat()
    if end is None and item.get("status") not in (None, CollectionStatus.RUNNING):
        end = timezone.now()  # as ISPyB: a finished collection ends when beamline control says so
    if end is not None:
        item["end_time"] = end.isoformat()
    directory = text(fileinfo, "directory", errors, field="fileinfo.directory") or text(data, "imageDirectory", errors)
    template = text(fileinfo, "template", errors, field="fileinfo.template") or text(data, "fileTemplate", errors)
    if directory:
        item["directory"] = directory
    if template:
        item["file_template"] = template
    for key, source, name in (
        ("first_image", "start_image_number", "startImageNumber"),
        ("number_of_images", "number_of_images", "numberOfImages"),
    ):
        value = number(oscillation, source, errors, field=f"oscillation_sequence.{source}")
        if value is None:
            value = number(data, name, errors)
        if value is not None:
            item[key] = int(value) if value.is_integer() else value  # a fraction: ingest says what is wrong
    floats = {
        "exposure_time": number(oscillation, "exposure_time", errors) or number(data, "exposureTime", errors),
        "oscillation_start": number(oscillation, "start", errors),
        "oscillation_range": number(oscillation, "range", errors),
        "wavelength": number(data, "wavelength", errors),
        "detector_distance": number(data, "detectorDistance", errors) or number(data, "detector_distance", errors),
        "resolution": number(data, "resolution", errors),
        "transmission": number(data, "transmission", errors),
        "flux": number(data, "flux", errors),
        "beam_size_x": number(data, "beamSizeAtSampleX", errors, scale=MM_TO_UM),
        "beam_size_y": number(data, "beamSizeAtSampleY", errors, scale=MM_TO_UM),
    }
    energy = number(data, "energy", errors)
    if floats["wavelength"] is None and energy:
        floats["wavelength"] = HC_KEV_ANGSTROM / energy
    item.update({key: value for key, value in floats.items() if value is not None})
    snapshot = text(data, "xtalSnapshotFullPath1", errors)
    if snapshot:
        item["snapshot_path"] = snapshot
    if isinstance(data.get("comments"), str) and data["comments"].strip():
        item["comments"] = data["comments"].strip()[:10000]
    detector_id = parse_id(data.get("detector_id") or data.get("detectorId"), "detectorId", errors)
    if detector_id is not None:
        detector = Detector.objects.filter(pk=detector_id).first()
        if detector is None:
            errors["detectorId"] = ["No such detector."]
        else:
            item["detector"] = str(detector)[:60]
    group_id = parse_id(data.get("group_id"), "group_id", errors)
    if group_id is not None:
        group = group_writable_by(principal).filter(pk=group_id).values_list("external_id", flat=True).first()
        if group is None:
            errors["group_id"] = ["No such data collection group."]
        else:
            item["group"] = group
    kept = {key: data[key] for key in KEPT_KEYS if data.get(key) not in (None, "")}
    for key in ("kappaStart", "phiStart", "number_of_passes", "offset"):
        if oscillation.get(key) is not None:
            kept[key] = oscillation[key]
    for key in ("prefix", "run_number"):
        if fileinfo.get(key) is not None:
            kept[key] = fileinfo[key]
    if kept:
        item["metadata"] = {"ispyb": kept}
    return item


def _collection_answer(collection, *, update: bool) -> dict:
    answer = {
        "dataCollectionId": collection.pk,
        "dataCollectionGroupId": collection.group_id,
        "sessionId": collection.session_id,
        "blSampleId": collection.sample_id,
    }
    if update:  # the client unpacks an update's answer as (collection id, group id)
        answer["results"] = [collection.pk, collection.group_id]
    return answer


@endpoint
def collection_store(request, principal):
    """``POST datacollections/datacollection``: a new collection, or the update of the one named by
    ``collection_id`` (MXCuBE sends the whole dictionary again as the collection runs and ends)."""
    access.may_ingest.require(principal)
    data = body(request)
    errors = {}
    collection_id = parse_id(data.get("collection_id"), "collection_id", errors)
    item = collection_item(principal, data, errors)
    if errors:
        raise invalid(errors)
    stored = None
    if collection_id is not None:
        stored = collection_writable_by(principal).filter(pk=collection_id).values("external_id", "beamline_id").first()
        if stored is None:
            raise not_found("No such data collection.")
        item.update(external_id=stored["external_id"], beamline=stored["beamline_id"])
    else:
        item["external_id"] = f"mxcube-{uuid.uuid4().hex}"
        item.setdefault("start_time", timezone.now().isoformat())
    try:
        (collection,) = ingest.ingest_collections(principal=principal, items=[item], partial=stored is not None)
    except ingest.BatchError as exc:
        raise invalid(_ispyb_errors(exc.errors[0])) from None
    return reply(_collection_answer(collection, update=stored is not None), status=200 if stored else 201)


@endpoint
def collection_detail(request, principal, pk: int):
    """``GET datacollections/{id}``: ISPyB's DataCollection keys. ``endTime`` is never null (MXCuBE parses
    it): a running collection's is the time of its last update, as ISPyB's is."""
    collection = collection_visible_to(principal).filter(pk=pk).select_related("group").first()
    if collection is None:
        raise not_found("No such data collection.")
    metadata = collection.metadata.get("ispyb", {}) if isinstance(collection.metadata, dict) else {}
    return reply(
        {
            "dataCollectionId": collection.pk,
            "dataCollectionGroupId": collection.group_id,
            "sessionId": collection.session_id,
            "blSampleId": collection.sample_id,
            "experimentType": ISPYB_EXPERIMENT_TYPES[collection.experiment_type],
            "runStatus": RUN_STATUS[collection.status],
            "startTime": iso(collection.start_time),
            "endTime": iso(collection.end_time or collection.updated_at),
            "imageDirectory": collection.directory,
            "fileTemplate": collection.file_template,
            "imagePrefix": metadata.get("prefix"),
            "dataCollectionNumber": metadata.get("run_number"),
            "startImageNumber": collection.first_image,
            "numberOfImages": collection.number_of_images,
            "axisStart": collection.oscillation_start,
            "axisRange": collection.oscillation_range,
            "exposureTime": collection.exposure_time,
            "wavelength": collection.wavelength,
            "detectorDistance": collection.detector_distance,
            "resolution": collection.resolution,
            "transmission": collection.transmission,
            "flux": collection.flux,
            "beamSizeAtSampleX": collection.beam_size_x / MM_TO_UM if collection.beam_size_x is not None else None,
            "beamSizeAtSampleY": collection.beam_size_y / MM_TO_UM if collection.beam_size_y is not None else None,
            "xtalSnapshotFullPath1": collection.snapshot_path or None,
            "comments": collection.comments or None,
        }
    )


# --- images -----------------------------------------------------------------------------------------------------


@endpoint
def image_store(request, principal):
    """``POST images/image``: one image of a collection (stored again under the same number: updated)."""
    access.may_ingest.require(principal)
    data = body(request)
    errors = {}
    collection_id = parse_id(data.get("dataCollectionId"), "dataCollectionId", errors, blank=False)
    image_number = number(data, "imageNumber", errors)
    if image_number is None and "imageNumber" not in errors:
        errors["imageNumber"] = ["This field is required."]
    elif image_number is not None and (not image_number.is_integer() or not 0 <= image_number < 2**31):
        errors["imageNumber"] = ["Give a whole number from 0."]
    values = {
        "file_name": text(data, "fileName", errors),
        "file_location": text(data, "fileLocation", errors),
        "jpeg_path": text(data, "jpegFileFullPath", errors),
        "thumbnail_path": text(data, "jpegThumbnailFileFullPath", errors),
        "measured_intensity": number(data, "measuredIntensity", errors),
        "synchrotron_current": number(data, "synchrotronCurrent", errors),
        "temperature": number(data, "temperature", errors),
        "machine_message": text(data, "machineMessage", errors, max_length=10000),
    }
    if not values["file_name"] and "fileName" not in errors:
        errors["fileName"] = ["This field is required."]
    if errors:
        raise invalid(errors)
    try:
        image = records.image_store(
            principal=principal, collection_id=collection_id, image_number=int(image_number), values=values
        )
    except Http404:
        raise not_found("No such data collection.") from None
    return reply({"imageId": image.pk, "dataCollectionId": collection_id}, status=201)
