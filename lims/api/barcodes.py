"""Barcode endpoints: decode the DataMatrix codes of a photo, check a code against the facility's rules.

    POST /api/v1/barcodes/decode/   multipart "image"          → {"codes": [...], "width", "height", "elapsed_ms"}
    POST /api/v1/barcodes/check/    {"kind": "pin", "code": …} → {"code": normalised, "valid": true}

Any signed-in user may call them: they read nothing of anybody's. A photo that cannot be decoded is a 400
whose ``code`` is the DecodeError's ("empty", "too_large", "not_an_image", "truncated", "no_code").
"""

import time

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from lims.api.parsers import JSONParser
from lims.barcodes.codes import KINDS, validate_code
from lims.barcodes.decode import MAX_UPLOAD_BYTES, DecodeError, FoundCode, decode_upload

ERROR = inline_serializer("BarcodeError", {"detail": serializers.CharField(), "code": serializers.CharField()})


class FoundCodeSerializer(serializers.Serializer):
    text = serializers.CharField()
    x = serializers.FloatField(help_text="centre, in the uploaded image's pixels (EXIF orientation applied)")
    y = serializers.FloatField()
    corners = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="top-left, top-right, bottom-right, bottom-left of the symbol",
    )
    decoder = serializers.CharField()


class DecodeResultSerializer(serializers.Serializer):
    codes = FoundCodeSerializer(many=True)
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    elapsed_ms = serializers.FloatField()


def found_as_dict(found: FoundCode) -> dict:
    return {
        "text": found.text,
        "x": round(found.x, 1),
        "y": round(found.y, 1),
        "corners": [[round(x, 1), round(y, 1)] for x, y in found.corners],
        "decoder": found.decoder,
    }


def decode_error(exc: DecodeError) -> Response:
    return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)


class BarcodeDecodeView(APIView):
    """Every DataMatrix code in an uploaded photo (PNG or JPEG, up to 12 MP and more), with where it is."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": inline_serializer("BarcodeDecodeRequest", {"image": serializers.ImageField()})},
        responses={200: DecodeResultSerializer, 400: OpenApiResponse(ERROR, description="no image, or no code")},
    )
    def post(self, request):
        upload = request.FILES.get("image")
        if upload is None:
            return Response(
                {
                    "detail": "Attach a photo as the multipart field 'image'.",
                    "code": "invalid",
                    "errors": {"image": ["No file was submitted."]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        if upload.size > MAX_UPLOAD_BYTES:  # before reading it into memory
            return decode_error(DecodeError(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB.", "too_large"))
        start = time.perf_counter()
        try:
            found, width, height = decode_upload(upload.read())
        except DecodeError as exc:
            return decode_error(exc)
        return Response(
            {
                "codes": [found_as_dict(f) for f in found],
                "width": width,
                "height": height,
                "elapsed_ms": round((time.perf_counter() - start) * 1000, 1),
            }
        )


class BarcodeCheckSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    # Not trimmed here: normalise() removes what scanners add (CR/LF, AIM prefix), and says so by its result.
    code = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=200)


class BarcodeCheckView(APIView):
    """Whether a scanned code is a well-formed pin, puck, location or dewar code; the normalised code if so."""

    @extend_schema(
        request=BarcodeCheckSerializer,
        responses={
            200: inline_serializer(
                "BarcodeCheckResult", {"code": serializers.CharField(), "valid": serializers.BooleanField()}
            ),
            400: OpenApiResponse(ERROR, description="the code is not valid: the message says why"),
        },
    )
    def post(self, request):
        serializer = BarcodeCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            code = validate_code(serializer.validated_data["kind"], serializer.validated_data["code"])
        except DjangoValidationError as exc:
            message = exc.messages[0]
            return Response(
                {"detail": message, "code": exc.code or "invalid", "valid": False, "errors": {"code": [message]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"code": code, "valid": True})
