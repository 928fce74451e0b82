"""The user office's feed (docs/user-office.md): read from a file or a URL, parsed (JSON or CSV) and checked whole.

``parse`` never stops at the first problem: it returns every error it finds, each naming the line, the object
(a JSON path such as ``proposals[3].sessions[1]``, or the CSV record) and the field. The caller writes nothing
when there is any. No Django models here: what the database knows (the beamlines) is passed in.
"""

import bisect
import csv
import io
import json
import json.decoder
import json.scanner
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, RegexValidator

ROLES = ("pi", "coi", "member")
KINDS = ("academic", "industrial")
CSV_COLUMNS = (
    "record",
    "code",
    "number",
    "title",
    "kind",
    "mail_in",
    "username",
    "email",
    "first_name",
    "last_name",
    "role",
    "session_id",
    "beamline",
    "start",
    "end",
    "local_contact",
)
PROPOSAL_KEYS = {"code", "number", "title", "kind", "mail_in", "members", "sessions"}
MEMBER_KEYS = {"username", "email", "first_name", "last_name", "role"}
SESSION_KEYS = {"id", "beamline", "start", "end", "local_contact"}
_username = RegexValidator(r"^[\w.@+-]{1,150}$", "not a username (letters, digits and @.+-_, at most 150)")
_email = EmailValidator("not an e-mail address")
_code = RegexValidator(r"^[A-Za-z]{1,10}$", "a proposal code is 1 to 10 letters, e.g. mx")
_number = RegexValidator(r"^[0-9]{1,10}$", "a proposal number is 1 to 10 digits, e.g. 2345")


@dataclass(frozen=True)
class FeedError:
    line: int | None
    where: str  # the JSON path of the object, or the CSV record kind
    field: str
    message: str

    def __str__(self) -> str:
        place = [f"line {self.line}" if self.line else "", f"({self.where})" if self.where else ""]
        head = " ".join(p for p in place if p) or "feed"
        return f"{head}, field {self.field}: {self.message}" if self.field else f"{head}: {self.message}"

    def as_dict(self) -> dict:
        return {"line": self.line, "where": self.where, "field": self.field, "message": self.message}


class FeedRefused(Exception):
    """The feed cannot be read or is wrong somewhere: nothing of it is applied."""

    def __init__(self, errors: list[FeedError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors[:5]) + (" …" if len(errors) > 5 else ""))


@dataclass
class Member:
    username: str
    email: str
    first_name: str
    last_name: str
    role: str
    line: int | None = None
    where: str = ""


@dataclass
class FeedSession:
    external_id: str
    beamline: str  # the beamline's name as the LIMS spells it
    start: datetime
    end: datetime
    local_contact: str  # a username, or ""
    line: int | None = None
    where: str = ""


@dataclass
class FeedProposal:
    code: str  # lower case, as the LIMS stores it
    number: str
    title: str
    kind: str
    mail_in: bool
    members: list[Member] = field(default_factory=list)
    sessions: list[FeedSession] = field(default_factory=list)
    line: int | None = None
    where: str = ""

    @property
    def name(self) -> str:
        return f"{self.code}{self.number}"


# Reading ---------------------------------------------------------------------------------------------------


def read(source: str, *, timeout: float = 30, token: str = "", token_header: str = "", max_bytes: int = 50 << 20):
    """The feed's bytes and a format hint ("json", "csv" or "") from a file path or an http(s) URL."""
    scheme = urllib.parse.urlsplit(source).scheme.lower()
    if scheme in {"http", "https"}:
        request = urllib.request.Request(source, headers={"Accept": "application/json, text/csv;q=0.9"})
        if token:
            request.add_header(token_header or "Authorization", token if token_header else f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only)
                data = response.read(max_bytes + 1)
                content_type = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            raise FeedRefused([FeedError(None, "", "", f"the user office answered {exc.code} {exc.reason}")]) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FeedRefused([FeedError(None, "", "", f"cannot read {redact(source)}: {reason}")]) from None
        hint = _hint(urllib.parse.urlsplit(source).path) or {"application/json": "json", "text/csv": "csv"}.get(
            content_type, ""
        )
    else:
        path = Path(source[7:] if scheme == "file" else source)
        try:
            with path.open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise FeedRefused([FeedError(None, "", "", f"cannot read {path}: {exc.strerror or exc}")]) from None
        hint = _hint(path.name)
    if len(data) > max_bytes:
        raise FeedRefused([FeedError(None, "", "", f"the feed is larger than {max_bytes} bytes (USER_OFFICE_MAX_MB)")])
    return data, hint


def redact(source: str) -> str:
    """The source without a password or a query string (which may carry a key), to show and to store."""
    parts = urllib.parse.urlsplit(source)
    if parts.scheme.lower() not in {"http", "https"}:
        return source
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))


def _hint(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return {".json": "json", ".csv": "csv"}.get(suffix, "")


# Parsing ---------------------------------------------------------------------------------------------------


def parse(data: bytes, *, fmt: str = "", beamlines: dict[str, str]) -> list[FeedProposal]:
    """The proposals of a feed, checked; ``beamlines`` maps lower-cased names to the LIMS's names.
    Raises ``FeedRefused`` with every error found."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FeedRefused([FeedError(line, "", "", "the feed is not UTF-8 text")]) from None
    fmt = fmt or ("json" if text.lstrip().startswith(("{", "[")) else "csv")
    errors: list[FeedError] = []
    raw = _json(text, errors) if fmt == "json" else _csv(text, errors)
    proposals = _check(raw, errors, beamlines) if raw is not None else []
    if errors:
        raise FeedRefused(errors)
    return proposals


class _Obj(dict):
    """A JSON object that remembers the line it starts on."""

    line: int | None = None


def _json_loads(text: str):
    newlines = [m.start() for m in re.finditer("\n", text)]

    def parse_object(s_and_end, *args, **kwargs):
        start = s_and_end[1]
        obj, end = json.decoder.JSONObject(s_and_end, *args, **kwargs)
        obj = _Obj(obj)
        obj.line = bisect.bisect_left(newlines, start) + 1
        return obj, end

    decoder = json.JSONDecoder()
    decoder.parse_object = parse_object
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    return decoder.decode(text)


def _json(text: str, errors: list[FeedError]):
    """The raw proposals of a JSON feed: ``{"proposals": [...]}``, each object with its line and path."""
    try:
        document = _json_loads(text)
    except json.JSONDecodeError as exc:
        errors.append(FeedError(exc.lineno, "", "", f"not valid JSON: {exc.msg} (column {exc.colno})"))
        return None
    except RecursionError:
        errors.append(FeedError(None, "", "", "not valid JSON: nested too deeply"))
        return None
    if not isinstance(document, dict) or not isinstance(document.get("proposals"), list):
        errors.append(FeedError(1, "", "proposals", 'the feed is an object {"proposals": [...]}'))
        return None
    raw = []
    for i, proposal in enumerate(document["proposals"]):
        where = f"proposals[{i}]"
        if not isinstance(proposal, dict):
            errors.append(FeedError(None, where, "", "a proposal is an object"))
            continue
        line = getattr(proposal, "line", None)
        for key in sorted(set(proposal) - PROPOSAL_KEYS):
            errors.append(FeedError(line, where, key, "unknown field"))
        item = {**proposal, "line": line, "where": where}
        for kind in ("members", "sessions"):
            children = proposal.get(kind)
            if not isinstance(children, list):
                errors.append(FeedError(line, where, kind, "a list is required (empty if none)"))
                children = []
            keys = MEMBER_KEYS if kind == "members" else SESSION_KEYS
            item[kind] = []
            for j, child in enumerate(children):
                child_where = f"{where}.{kind}[{j}]"
                if not isinstance(child, dict):
                    errors.append(FeedError(line, child_where, "", "an object is required"))
                    continue
                child_line = getattr(child, "line", None)
                for key in sorted(set(child) - keys):
                    errors.append(FeedError(child_line, child_where, key, "unknown field"))
                item[kind].append({**child, "line": child_line, "where": child_where})
        raw.append(item)
    return raw


def _csv(text: str, errors: list[FeedError]):
    """The raw proposals of a CSV feed: one row per proposal, member and session, told apart by ``record``."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        errors.append(FeedError(1, "", "", f"not valid CSV: {exc}"))
        return None
    missing = [c for c in CSV_COLUMNS if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        problems = [
            f"missing {', '.join(missing)}" if missing else "",
            f"unknown {', '.join(unknown)}" if unknown else "",
        ]
        detail = "; ".join(p for p in problems if p) or "a column is repeated"
        errors.append(FeedError(1, "header", "", f"the columns are {', '.join(CSV_COLUMNS)} ({detail})"))
        return None
    proposals: dict[tuple[str, str], dict] = {}
    children = []
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            hint = " (a quoted cell opened here is never closed)" if "end of data" in str(exc) else ""
            errors.append(FeedError(line, "", "", f"not valid CSV: {exc}{hint}"))
            return None
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            errors.append(FeedError(line, "", "", f"{len(row)} cells where the header has {len(header)}"))
            continue
        values = {k: v.strip() for k, v in zip(header, row, strict=True)}
        record = values.pop("record").lower()
        item = {"line": line, "where": record, "csv": True}
        key = (values["code"].lower(), values["number"])
        if record == "proposal":
            item.update((k, values[k]) for k in PROPOSAL_KEYS - {"members", "sessions"})
            item.update(members=[], sessions=[])
            if key in proposals:
                previous = proposals[key]["line"]
                errors.append(FeedError(line, record, "number", f"{key[0]}{key[1]} is already on line {previous}"))
                continue
            proposals[key] = item
        elif record in {"member", "session"}:
            names = MEMBER_KEYS if record == "member" else SESSION_KEYS - {"id"}
            item.update((k, values[k]) for k in names)
            if record == "session":
                item["id"] = values["session_id"]
            children.append((key, record + "s", item))
        else:
            errors.append(FeedError(line, "", "record", f"{record!r}: give proposal, member or session"))
    for key, kind, item in children:
        if key not in proposals:
            errors.append(FeedError(item["line"], item["where"], "code", f"no proposal row for {key[0]}{key[1]}"))
        else:
            proposals[key][kind].append(item)
    return list(proposals.values())


# Checking --------------------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, errors: list[FeedError], beamlines: dict[str, str]):
        self.errors = errors
        self.beamlines = beamlines
        self.people: dict[str, Member] = {}
        self.session_ids: dict[str, FeedSession] = {}

    def error(self, item: dict, name: str, message: str) -> None:
        if name == "id" and item.get("csv"):
            name = "session_id"
        self.errors.append(FeedError(item.get("line"), item.get("where", ""), name, message))

    def text(self, item: dict, name: str, *, required: bool = True, max_length: int = 255, validator=None) -> str:
        value = item.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.error(item, name, "text is required")
            return ""
        value = value.strip()
        if not value:
            if required:
                self.error(item, name, "required")
            return ""
        if len(value) > max_length:
            self.error(item, name, f"at most {max_length} characters")
        elif validator is not None:
            try:
                validator(value)
            except ValidationError as exc:
                self.error(item, name, exc.messages[0])
        return value

    def choice(self, item: dict, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(item, name, required=False).lower()
        if value and value not in choices:
            self.error(item, name, f"{value!r} is not one of {', '.join(choices)}")
        return value or default

    def flag(self, item: dict, name: str) -> bool:
        value = item.get(name)
        if isinstance(value, bool) or value is None:
            return bool(value)
        text = str(value).strip().lower()
        if text in {"", "0", "false", "no", "f", "n"}:
            return False
        if text in {"1", "true", "yes", "t", "y"}:
            return True
        self.error(item, name, f"{value!r} is not true or false")
        return False

    def moment(self, item: dict, name: str) -> datetime | None:
        text = self.text(item, name)
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.error(item, name, f"{text!r} is not an ISO 8601 date and time")
            return None
        if value.utcoffset() is None:
            self.error(item, name, f"{text!r} has no UTC offset (e.g. 2025-03-01T08:00:00+01:00)")
            return None
        return value

    def proposal(self, item: dict) -> FeedProposal:
        proposal = FeedProposal(
            code=self.text(item, "code", max_length=10, validator=_code).lower(),
            number=self.text(item, "number", max_length=10, validator=_number),
            title=self.text(item, "title"),
            kind=self.choice(item, "kind", KINDS, "academic"),
            mail_in=self.flag(item, "mail_in"),
            line=item.get("line"),
            where=item.get("where", ""),
        )
        seen: dict[str, Member] = {}
        for child in item["members"]:
            member = self.member(child)
            if member.username.lower() in seen:
                self.error(
                    child,
                    "username",
                    f"{member.username} is already a member (line {seen[member.username.lower()].line})",
                )
            elif member.username:
                seen[member.username.lower()] = member
                proposal.members.append(member)
        if not item["members"]:
            self.error(item, "members", "a proposal has at least one member (its PI)")
        proposal.sessions = [s for s in (self.session(child) for child in item["sessions"]) if s]
        return proposal

    def member(self, item: dict) -> Member:
        member = Member(
            username=self.text(item, "username", max_length=150, validator=_username),
            email=self.text(item, "email", required=False, max_length=254, validator=_email),
            first_name=self.text(item, "first_name", required=False, max_length=150),
            last_name=self.text(item, "last_name", required=False, max_length=150),
            role=self.choice(item, "role", ROLES, ""),
            line=item.get("line"),
            where=item.get("where", ""),
        )
        if not member.role:
            self.error(item, "role", f"required: one of {', '.join(ROLES)}")
        known = self.people.get(member.username.lower())
        if known is None:
            self.people[member.username.lower()] = member
        elif known.username != member.username:
            self.error(item, "username", f"written {known.username} on line {known.line}")
        else:
            for name in ("email", "first_name", "last_name"):
                if getattr(known, name) != getattr(member, name):
                    self.error(item, name, f"differs from {member.username}'s {name} on line {known.line}")
        return member

    def session(self, item: dict) -> FeedSession | None:
        external_id = self.text(item, "id", max_length=64)
        name = self.text(item, "beamline", max_length=30)
        beamline = self.beamlines.get(name.lower(), "")
        if name and not beamline:
            known = ", ".join(sorted(self.beamlines.values())) or "none"
            self.error(item, "beamline", f"unknown beamline {name!r} (beamlines: {known})")
        start, end = self.moment(item, "start"), self.moment(item, "end")
        if start and end and end <= start:
            self.error(item, "end", "the session must end after it starts")
        contact = self.text(item, "local_contact", required=False, max_length=150, validator=_username)
        if external_id in self.session_ids:
            self.error(item, "id", f"session {external_id} is already on line {self.session_ids[external_id].line}")
            return None
        if not (external_id and beamline and start and end):
            return None
        session = FeedSession(external_id, beamline, start, end, contact, item.get("line"), item.get("where", ""))
        self.session_ids[external_id] = session
        return session


def _check(raw: list[dict], errors: list[FeedError], beamlines: dict[str, str]) -> list[FeedProposal]:
    checker = _Checker(errors, beamlines)
    proposals: dict[str, FeedProposal] = {}
    for item in raw:
        proposal = checker.proposal(item)
        if proposal.name in proposals:
            checker.error(item, "number", f"{proposal.name} is already on line {proposals[proposal.name].line}")
        elif proposal.code and proposal.number:
            proposals[proposal.name] = proposal
    return list(proposals.values())
