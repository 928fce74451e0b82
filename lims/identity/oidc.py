"""OpenID Connect sign-in (mozilla-django-oidc): the authentication backend and the two views of the code flow.

    AuthenticateView   /oidc/authenticate/   the "Sign in with …" button: off to the provider
    CallbackView       /oidc/callback/       back from it: the code is exchanged, the person signed in
    OIDCBackend        (AUTHENTICATION_BACKENDS, added by oidc_settings when OIDC_ISSUER is set)

Settings: ``lims.identity.oidc_settings`` (docs/identity-oidc.md). The provider's endpoints come from its
discovery document, read at the first sign-in that needs them and kept for ``DISCOVERY_TTL`` seconds; a
provider that cannot be reached is never a 500: the person is sent back to the sign-in page with a message
(local passwords keep working), and the next click asks again.

Who signs in: the account whose user name is the username claim (``OIDC_USERNAME_CLAIM``), exactly, else
case-insensitively when only one account matches; with ``OIDC_MATCH_EMAIL`` then the one account with the
claim's e-mail, only when the provider says it is verified (``email_verified``). Otherwise an account is
created (``OIDC_CREATE_USERS``) with no usable password: such a person signs in here through the provider
only, and uses a personal API token (the "API tokens" page) for MXCuBE and scripts. As with LDAP, a local
account (one with a usable password: the admin made by ``createsuperuser``) is never signed into by the
provider unless ``OIDC_MATCH_LOCAL_ACCOUNTS`` says so, so nobody takes over ``admin`` by choosing that name at
a provider where people pick their own (Umbrella); accounts the user-office feed made have no password and
are matched. At every sign-in the
name and e-mail are taken from the claims when they are given, and, when ``OIDC_ROLE_MAP`` is set, the
facility roles become exactly those the groups claim grants (``lims.identity.roles``); a provider that sends
no groups claim at all leaves the roles alone (logged), so a missing mapper never strips everyone's roles.
A disabled account (``is_active`` off) is refused, and its open sessions end at once (``get_user``).

The ID token's issuer must be ``OIDC_ISSUER`` and its audience this client (mozilla-django-oidc checks
neither); the discovery document must name the same issuer.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView, get_next_url

from lims import audit
from lims.choices import AuditAction

from . import roles

log = logging.getLogger(__name__)

DISCOVERY_TTL = 3600  # seconds a discovery document is kept (a failure is never kept: the next click asks again)
DISCOVERY_KEYS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_discovered: dict[str, tuple[float, dict]] = {}  # discovery URL -> (when read, document)


class ProviderError(Exception):
    """The provider's discovery document could not be read, or names another issuer (logged for the admin)."""


class Refused(Exception):
    """This person may not sign in; the message is for them."""


def enabled() -> bool:
    return bool(getattr(settings, "OIDC_ENABLED", False))


def provider_name() -> str:
    return getattr(settings, "OIDC_PROVIDER_NAME", "") or settings.FACILITY_NAME


def unreachable_message() -> str:
    return (
        f"Signing in with {provider_name()} is not possible just now (the sign-in service does not answer): "
        "sign in with your password, or try again later."
    )


def _requests_options() -> dict:
    return {"timeout": getattr(settings, "OIDC_TIMEOUT", 10), "verify": getattr(settings, "OIDC_VERIFY_SSL", True)}


def discovery() -> dict:
    """The provider's discovery document (``OIDC_DISCOVERY_URL``), kept for ``DISCOVERY_TTL`` seconds."""
    url = settings.OIDC_DISCOVERY_URL
    cached = _discovered.get(url)
    if cached and time.monotonic() - cached[0] < DISCOVERY_TTL:
        return cached[1]
    try:
        response = requests.get(url, headers={"Accept": "application/json"}, **_requests_options())
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("OIDC discovery at %s failed: %s", url, exc)
        raise ProviderError(f"discovery at {url} failed: {exc}") from exc
    issuer = str(document.get("issuer", "") if isinstance(document, dict) else "").rstrip("/")
    if issuer != settings.OIDC_ISSUER:
        log.error("OIDC discovery at %s names the issuer %r, not OIDC_ISSUER %r.", url, issuer, settings.OIDC_ISSUER)
        raise ProviderError(f"discovery names the issuer {issuer!r}, not OIDC_ISSUER")
    _discovered[url] = (time.monotonic(), document)
    return document


def endpoint(setting: str) -> str:
    """The endpoint that ``setting`` overrides, else the one the discovery document names."""
    value = getattr(settings, setting, "")
    if value:
        return value
    value = discovery().get(DISCOVERY_KEYS[setting])
    if not isinstance(value, str) or not value:
        log.error("OIDC discovery at %s names no %s.", settings.OIDC_DISCOVERY_URL, DISCOVERY_KEYS[setting])
        raise ProviderError(f"discovery names no {DISCOVERY_KEYS[setting]}")
    return value


def role_map() -> dict[str, set[str]] | None:
    """``OIDC_ROLE_MAP`` parsed; None when unset (the roles are then left alone)."""
    text = getattr(settings, "OIDC_ROLE_MAP", "")
    if not text:
        return None
    try:
        return roles.parse_role_map(text)
    except ImproperlyConfigured as exc:
        log.error("OIDC_ROLE_MAP: %s", exc)
        raise Refused(f"Signing in with {provider_name()} is misconfigured here: tell the facility's admin.") from exc


def _text(claims: dict, name: str) -> str:
    value = claims.get(name) if name else None
    return value.strip() if isinstance(value, str) else ""


def _groups(value) -> list[str]:
    """A groups claim: a list of names (a single name is taken as one)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(item) for item in value if isinstance(item, str | int)]
    return []


def profile(claims: dict) -> dict:
    """first_name, last_name and email from the claims (empty when not given)."""
    first, last = _text(claims, settings.OIDC_FIRST_NAME_CLAIM), _text(claims, settings.OIDC_LAST_NAME_CLAIM)
    if not first and not last:
        name = _text(claims, settings.OIDC_NAME_CLAIM)
        first, _, last = name.rpartition(" ") if " " in name else (name, "", "")
    return {"first_name": first[:150], "last_name": last[:150], "email": _text(claims, settings.OIDC_EMAIL_CLAIM)[:254]}


def _email_verified(claims: dict) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, reading its endpoints lazily and matching people by user name.

    Django builds every backend for every ``authenticate()``, password logins included: ``__init__`` reads
    nothing and asks nobody, and ``authenticate`` answers only the callback's code."""

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()

    def _load_settings(self) -> None:
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.OIDC_OP_TOKEN_ENDPOINT = endpoint("OIDC_OP_TOKEN_ENDPOINT")
        self.OIDC_OP_USER_ENDPOINT = endpoint("OIDC_OP_USER_ENDPOINT")
        hmac = self.OIDC_RP_SIGN_ALGO.startswith("HS")
        self.OIDC_OP_JWKS_ENDPOINT = None if hmac else endpoint("OIDC_OP_JWKS_ENDPOINT")

    def authenticate(self, request, **kwargs):
        if request is None or not enabled() or "username" in kwargs or "password" in kwargs:
            return None
        if request.path != reverse("oidc_authentication_callback"):
            return None
        try:
            self._load_settings()
            return super().authenticate(request, **kwargs)
        except Refused as exc:
            request.oidc_failure = str(exc)
        except ProviderError:
            request.oidc_failure = unreachable_message()
        except requests.RequestException as exc:
            log.warning("OIDC sign-in: the provider refused the code or did not answer: %s", exc)
            request.oidc_failure = (
                f"{provider_name()} did not complete the sign-in: try again, or sign in with your password."
            )
        except (SuspiciousOperation, jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            log.warning("OIDC sign-in: the provider's answer failed verification: %r", exc, exc_info=True)
            request.oidc_failure = f"The answer of {provider_name()} could not be verified: sign in again."
        return None

    def get_user(self, user_id):
        return ModelBackend.get_user(self, user_id)  # None for a disabled account: its sessions end at once

    def retrieve_matching_jwk(self, token):
        """The provider's signing key; a token naming no key (no ``kid``, allowed with a single key) gets the
        one key of its algorithm (mozilla-django-oidc would fail on the missing ``kid``)."""
        header = jwt.get_unverified_header(token)
        if "kid" in header:
            return super().retrieve_matching_jwk(token)
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, **_requests_options())
        response.raise_for_status()
        keys = [
            key
            for key in response.json().get("keys", [])
            if key.get("use", "sig") == "sig" and key.get("alg", header.get("alg")) == header.get("alg")
        ]
        if len(keys) != 1:
            raise SuspiciousOperation("The ID token names no key (kid) and the provider has several.")
        return jwt.PyJWK(keys[0])

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token (a signed userinfo answer comes without one)
            if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
                raise SuspiciousOperation(f"The ID token's issuer {payload.get('iss')!r} is not OIDC_ISSUER.")
            audience = payload.get("aud")
            audience = [audience] if isinstance(audience, str) else audience or []
            if self.OIDC_RP_CLIENT_ID not in audience:
                raise SuspiciousOperation("The ID token is not meant for this client (aud).")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer names another subject than the ID token.")
        claims = {**payload, **userinfo}
        username = _text(claims, settings.OIDC_USERNAME_CLAIM)
        if not username or len(username) > 150:
            log.warning("OIDC sign-in of sub %r: no usable %r claim.", claims.get("sub"), settings.OIDC_USERNAME_CLAIM)
            raise Refused(f"{provider_name()} did not say who you are (no user name): tell the facility's admin.")
        mapping = role_map()
        with transaction.atomic():
            user = self.match_user(username, claims)
            if user is None:
                if not settings.OIDC_CREATE_USER:
                    raise Refused(f"There is no account for {username} here: ask the facility's user office.")
                user = self.create_user(claims)
            elif not user.is_active:
                raise Refused("Your account here is disabled: ask the facility's admin.")
            elif user.has_usable_password() and not settings.OIDC_MATCH_LOCAL_ACCOUNTS:
                log.warning("OIDC sign-in as %s refused: a local account (it has a password).", user)
                raise Refused(
                    f"The account {user.get_username()} here has a password of its own: sign in with it, or ask "
                    f"the facility's admin to move it to {provider_name()}."
                )
            else:
                user = self.update_user(user, claims)
            if mapping is not None:
                groups = claims.get(settings.OIDC_GROUPS_CLAIM)
                if groups is None:
                    log.warning(
                        "OIDC sign-in of %s: no %r claim, roles left as they are.", user, settings.OIDC_GROUPS_CLAIM
                    )
                else:
                    wanted = roles.roles_from_groups(_groups(groups), mapping)
                    roles.apply_roles(user, wanted, by=f"sign-in with {provider_name()}")
        return user

    def match_user(self, username: str, claims: dict):
        """The existing account this person is (see the module docstring), or None."""
        users = self.UserModel._default_manager
        user = users.filter(username=username).first()
        if user is not None:
            return user
        same = list(users.filter(username__iexact=username)[:2])
        if len(same) > 1:
            raise Refused(f"Several accounts here are named {username}: ask the facility's admin.")
        if same:
            return same[0]
        email = _text(claims, settings.OIDC_EMAIL_CLAIM)
        if settings.OIDC_MATCH_EMAIL and email and _email_verified(claims):
            same = list(users.filter(email__iexact=email)[:2])
            if len(same) > 1:
                raise Refused(f"Several accounts here have the e-mail {email}: ask the facility's admin.")
            if same:
                return same[0]
        return None

    def create_user(self, claims):
        username = _text(claims, settings.OIDC_USERNAME_CLAIM)
        fields = profile(claims)
        user = self.UserModel._default_manager.create_user(username, **fields)  # no password: unusable
        audit.record(
            user=user,
            action=AuditAction.CREATE,
            obj=user,
            after={"username": username, **fields},  # never a snapshot of the user row (its password hash)
            message=f"account created at the first sign-in with {provider_name()}",
        )
        log.info("OIDC sign-in: account %s created (sub %r).", username, claims.get("sub"))
        return user

    def update_user(self, user, claims):
        """Take the name and e-mail from the claims when they are given and differ."""
        changed = {name: value for name, value in profile(claims).items() if value and getattr(user, name) != value}
        if changed:
            for name, value in changed.items():
                setattr(user, name, value)
            user.save(update_fields=list(changed))
        return user


def _to_login(request, message: str, next_url: str | None = None) -> HttpResponseRedirect:
    messages.error(request, message)
    url = reverse("login")
    return HttpResponseRedirect(f"{url}?{urlencode({'next': next_url})}" if next_url else url)


class AuthenticateView(OIDCAuthenticationRequestView):
    """The button: off to the provider's authorization endpoint (read per request: it may be down)."""

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # mozilla-django-oidc's reads the endpoint at every request's start

    def get(self, request):
        if not enabled():
            raise Http404("OpenID Connect sign-in is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = endpoint("OIDC_OP_AUTHORIZATION_ENDPOINT")
            role_map()  # a misconfigured map is told before the person goes to the provider
        except ProviderError:
            return _to_login(request, unreachable_message(), get_next_url(request, "next"))
        except Refused as exc:
            return _to_login(request, str(exc), get_next_url(request, "next"))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


class CallbackView(OIDCAuthenticationCallbackView):
    """Back from the provider; every failure goes back to the sign-in page with what happened.

    mozilla-django-oidc's callback, but asking ``OIDCBackend`` itself rather than ``auth.authenticate()``:
    django-axes counts every failed ``authenticate()`` under the client's address with no user name, so a few
    refused sign-ins behind one address (a facility's NAT) would lock out every OIDC sign-in from it. The
    callback is no password to guess: its code is the provider's, single-use and bound to this session's
    state. A callback naming no state of this session (an old tab, a replay) is refused with a message."""

    def get(self, request):
        if not enabled():
            raise Http404("OpenID Connect sign-in is not configured.")
        states = request.session.get("oidc_states")
        state = request.GET.get("state", "")
        flow = states.pop(state, None) if isinstance(states, dict) else None
        if flow is not None:
            request.session.modified = True
            request.session.save()  # the state is used once, whatever follows
        if request.GET.get("error"):
            return self.login_failure()
        if flow is None or not request.GET.get("code"):
            log.warning("OIDC callback with no state of this session (an old tab or a replay).")
            return _to_login(request, "That sign-in had expired or was already used: sign in again.")
        # As mozilla-django-oidc does: read the session again after the (slow) exchange with the provider,
        # so that what another tab wrote meanwhile is not overwritten.
        request.session = request.session.__class__(request.session.session_key)
        user = OIDCBackend().authenticate(request, nonce=flow.get("nonce"), code_verifier=flow.get("code_verifier"))
        if user is None or not user.is_active:
            return self.login_failure()
        user.backend = f"{OIDCBackend.__module__}.{OIDCBackend.__qualname__}"
        self.user = user
        return self.login_success()

    def login_failure(self):
        request, name = self.request, provider_name()
        error = request.GET.get("error", "")
        if error == "access_denied":
            message = f"The sign-in with {name} was cancelled or refused: you are not signed in."
        elif error:
            log.warning("OIDC callback: the provider answered %s: %s", error, request.GET.get("error_description", ""))
            code = error if ERROR_CODE.match(error) else "error"  # never the provider's free text on our page
            message = f"{name} refused the sign-in ({code}): try again, or sign in with your password."
        else:
            message = getattr(request, "oidc_failure", "") or f"The sign-in with {name} did not succeed: try again."
        return _to_login(request, message, request.session.get("oidc_login_next"))
