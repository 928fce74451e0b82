"""API tokens: machines' tokens scoped to a beamline, people's personal tokens, and the bearer tokens of the
ISPyB-compatible login.

    api_token_create(*, name, beamline, created_by, user=None) -> (ApiToken, key)   the key, shown once
    api_token_revoke(*, token, user) -> ApiToken
    personal_token_create(*, user) -> (PersonalToken, key)                           the key, shown once
    personal_token_revoke(*, token, user) -> PersonalToken
    principal_for_bearer(value) -> TokenPrincipal | User | None    what an "Authorization: Bearer" names
    personal_token_for_login(key, username) -> PersonalToken | None  a person's key given to the ISPyB login
    login_tokens(principal, personal_token_id=None) -> {"token", "refreshToken", "expiresIn"}
    refresh_tokens(refresh_token) -> the same, or None

A request made with an API token runs as a ``TokenPrincipal``: authenticated, but neither a user nor
facility staff, so ``lims.access.scope`` gives it nothing; what a beamline's machine may read and write
is granted explicitly by the beamline selectors and services (its own beamline only).

Bearer values are either an API token's key ("lims_…") or a signed, time-limited token from
``auth/login`` (which names an API token or a user, checked again on every request, so that revoking
the token or deactivating the user takes effect at once).

Personal tokens (``Authorization: Token <key>`` on the native API) act as their person; they expire after
``PERSONAL_TOKEN_TTL`` seconds. Of every key, machine's or person's, only its hash is stored. A personal key
also logs its person in to the ISPyB-compatible login (people who sign in with OpenID Connect have no
password here): the bearer and refresh tokens it gets name the personal token too, and end with it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from . import audit
from .choices import AuditAction
from .compiled import CompiledQuery
from .models import ApiToken, Beamline, PersonalToken

KEY_PREFIX = "lims_"
PERSONAL_KEY_PREFIX = "limsp_"  # not a KEY_PREFIX: a bearer value starting "lims_" is a machine's key
SIGNING_SALT = "lims.tokens.bearer"
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


def access_ttl() -> int:
    return int(getattr(settings, "BEARER_TOKEN_TTL", 3600))


def refresh_ttl() -> int:
    return int(getattr(settings, "BEARER_REFRESH_TTL", 7 * 24 * 3600))


def personal_ttl() -> int:
    return int(getattr(settings, "PERSONAL_TOKEN_TTL", 30 * 24 * 3600))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenPrincipal:
    """``request.user`` for a request made with an API token (see the module docstring)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    is_machine = True
    pk = id = None
    _facility_roles = frozenset()

    def __init__(self, token: ApiToken):
        self.token = token
        self.beamline_id = token.beamline_id
        self.username = f"token:{token.name}"

    def __str__(self) -> str:
        return f"API token {self.token.name}"

    @property
    def beamline(self) -> Beamline:
        return self.token.beamline

    @property
    def acting_user(self):
        """The person answerable for the token (may be None): the audit log's author."""
        return self.token.user

    def get_username(self) -> str:
        return self.username


def actor(principal) -> dict:
    """The ``user`` and ``token`` columns of a history row written by ``principal``."""
    if getattr(principal, "is_machine", False):
        return {"user": principal.acting_user, "token": principal.token}
    return {"user": principal if getattr(principal, "is_authenticated", False) else None, "token": None}


def beamline_of(principal) -> int | None:
    """The beamline a machine principal is scoped to (None for people)."""
    return getattr(principal, "beamline_id", None)


@transaction.atomic
def api_token_create(*, name: str, beamline: Beamline, created_by, user=None, key: str | None = None):
    """A new token for ``beamline``; returns (token, key). ``key`` may be given (demo data), else random."""
    key = key or KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name.strip(),
        beamline=beamline,
        user=user,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        prefix=key[:12],
        key_hash=hash_key(key),
    )
    audit.record(user=created_by, action=AuditAction.CREATE, obj=token, message="API token created")
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, user) -> ApiToken:
    """Revoke a machine's token at once (a no-op if it already is)."""
    return _revoke(token, user=user, message="API token revoked")


@transaction.atomic
def personal_token_create(*, user) -> tuple[PersonalToken, str]:
    """A new personal token for ``user``, valid for ``PERSONAL_TOKEN_TTL`` seconds; returns (token, key)."""
    key = PERSONAL_KEY_PREFIX + secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user,
        prefix=key[:12],
        key_hash=hash_key(key),
        expires_at=timezone.now() + timedelta(seconds=personal_ttl()),
    )
    audit.record(user=user, action=AuditAction.CREATE, obj=token, message="Personal API token created")
    return token, key


@transaction.atomic
def personal_token_revoke(*, token: PersonalToken, user) -> PersonalToken:
    """Revoke a person's token at once (a no-op if it already is); ``user`` is who revokes it."""
    return _revoke(token, user=user, message="Personal API token revoked")


def _revoke(token, *, user, message: str):
    token = type(token).objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        before = audit.snapshot(token)
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(user=user, action=AuditAction.UPDATE, obj=token, before=before, message=message)
    return token


# Beamline control's every request reads its token: the SQL is compiled once per process (lims.compiled).
# No ordering: .first() would sort by the model's ordering (a join to the beamline) for one row.
_API_TOKEN = CompiledQuery(
    lambda key_hash: (
        ApiToken.objects.select_related("beamline", "user")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .order_by()[:1]
    )
)


def _token_by_key(key: str) -> ApiToken | None:
    found = _API_TOKEN.objects(key_hash=hash_key(key))
    token = found[0] if found else None
    if token is not None:
        _touch(token)
    return token


def _token_by_id(pk: int) -> ApiToken | None:
    tokens = ApiToken.objects.select_related("beamline", "user").filter(pk=pk, revoked_at__isnull=True)
    token = next(iter(tokens.order_by()[:1]), None)
    if token is not None:
        _touch(token)
    return token


def _touch(token: ApiToken | PersonalToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


# Every request of a scan station or a script reads its token: the SQL is compiled once per process.
_PERSONAL_TOKEN = CompiledQuery(
    lambda key_hash: (
        PersonalToken.objects.select_related("user")
        .filter(key_hash=key_hash, revoked_at__isnull=True, expires_at__gt=Now())
        .order_by()[:1]
    )
)


def personal_token_for_key(key: str) -> PersonalToken | None:
    """The live personal token of ``key``: None when unknown, revoked or expired."""
    found = _PERSONAL_TOKEN.objects(key_hash=hash_key(key))
    token = found[0] if found else None
    if token is not None:
        _touch(token)
    return token


def personal_token_for_login(key: str, username: str = "") -> PersonalToken | None:
    """The live personal token of ``key`` when its person is active and is ``username`` (if one is given)."""
    token = personal_token_for_key(key) if key.startswith(PERSONAL_KEY_PREFIX) else None
    if token is None or not token.user.is_active or (username and token.user.get_username() != username):
        return None
    return token


def _principal(claims: dict):
    if "t" in claims:
        token = _token_by_id(claims["t"])
        return TokenPrincipal(token) if token else None
    user = get_user_model().objects.filter(pk=claims.get("u"), is_active=True).first()
    if user is not None and "p" in claims:  # logged in with a personal token: it must still be live
        live = PersonalToken.objects.filter(
            pk=claims["p"], user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        return user if live.exists() else None
    return user


def principal_for_bearer(value: str):
    """The principal a bearer value names: an API token's key or a signed login token; None if invalid."""
    value = (value or "").strip()
    if not value:
        return None
    if value.startswith(KEY_PREFIX):
        token = _token_by_key(value)
        return TokenPrincipal(token) if token else None
    try:
        claims = signing.loads(value, salt=SIGNING_SALT, max_age=access_ttl())
    except signing.BadSignature:
        return None
    if claims.get("k") != "access":
        return None
    return _principal(claims)


def _claims(principal, personal_token_id: int | None = None) -> dict:
    if getattr(principal, "is_machine", False):
        return {"t": principal.token.pk}
    return {"u": principal.pk} if personal_token_id is None else {"u": principal.pk, "p": personal_token_id}


def login_tokens(principal, personal_token_id: int | None = None) -> dict:
    """What ``auth/login`` and ``auth/refresh`` answer: a short-lived bearer token and a refresh token
    (naming the personal token the person logged in with, if any: they end when it is revoked or expires)."""
    claims = _claims(principal, personal_token_id)
    return {
        "token": signing.dumps({**claims, "k": "access"}, salt=SIGNING_SALT),
        "refreshToken": signing.dumps({**claims, "k": "refresh"}, salt=SIGNING_SALT),
        "expiresIn": access_ttl(),
    }


def refresh_tokens(refresh_token: str) -> dict | None:
    try:
        claims = signing.loads(refresh_token or "", salt=SIGNING_SALT, max_age=refresh_ttl())
    except signing.BadSignature:
        return None
    if claims.get("k") != "refresh":
        return None
    principal = _principal(claims)
    return login_tokens(principal, claims.get("p")) if principal is not None else None


def principal_for_key(key: str):
    """A principal for an API token's key given as a login "token" (None when unknown or revoked)."""
    token = _token_by_key(key) if key else None
    return TokenPrincipal(token) if token else None


class PersonalTokenAuthentication(authentication.TokenAuthentication):
    """DRF: ``Authorization: Token <key>`` with a personal token, found by the key's hash."""

    def authenticate_credentials(self, key):
        token = personal_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "The token is unknown, revoked or expired: ask for a new one at /api/v1/auth/token/."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token


class BearerAuthentication(authentication.BaseAuthentication):
    """DRF: ``Authorization: Bearer <API token key | signed login token>``."""

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Give one token after Bearer.")
        principal = principal_for_bearer(header[1].decode(errors="replace"))
        if principal is None:
            raise exceptions.AuthenticationFailed("The token is unknown, revoked or expired.")
        return principal, None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BearerScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema's description of ``BearerAuthentication``."""

    target_class = "lims.tokens.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token's key (a beamline's machine), or a token from the ISPyB-compatible login.",
        }
