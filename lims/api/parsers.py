"""JSON in, for every surface (the REST API, the ISPyB-compatible API, page links that carry JSON).

One loader, so that input built to crash a parser is bad input everywhere: ``[`` × 100,000 makes Python's
``json`` raise RecursionError (not a ValueError: a 500 in every caller that catches only ValueError);
orjson refuses it past 1,024 levels as an ordinary decode error. No JSON of ours nests anywhere near that.
"""

from __future__ import annotations

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

try:  # orjson is in the dependencies; the standard library keeps the API up should it be missing
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

TOO_DEEP = "The JSON is nested too deeply."


def loads(raw: bytes | str):
    """The JSON document in ``raw``; ValueError for anything that is not JSON, too deep a nesting included."""
    try:
        return _loads(raw)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (the API's default), answering 400 rather than 500 to too deep a nesting."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {TOO_DEEP}") from None
