"""OpenID Connect login settings, from the environment (docs/identity-oidc.md). Off unless OIDC_ISSUER is set.

``configure(ns, env)`` runs while settings.py loads, so it imports no model and asks no provider anything:
the endpoints are read from the provider's discovery document (``<issuer>/.well-known/openid-configuration``)
on the first sign-in that needs them (``lims.identity.oidc``), unless every one is given here. A provider
that is down when the site starts (or later) never stops the site: local passwords keep working and the
"Sign in with …" button answers with a message. Tests call ``configure`` with a fake ``env`` and apply
the result to ``django.conf.settings``, as production builds them.

Variables (every one but the first three optional):

    OIDC_ISSUER               the provider's issuer URL, e.g. https://sso.example.org/realms/facility
    OIDC_CLIENT_ID            this LIMS's client id at the provider
    OIDC_CLIENT_SECRET        its secret (a confidential client)
    OIDC_DISCOVERY_URL        default <OIDC_ISSUER>/.well-known/openid-configuration
    OIDC_AUTHORIZATION_ENDPOINT, OIDC_TOKEN_ENDPOINT, OIDC_USERINFO_ENDPOINT, OIDC_JWKS_URI
                              each overrides what discovery says (all four: discovery is never asked)
    OIDC_SCOPES               default "openid email profile"
    OIDC_SIGN_ALGO            the ID token's signature, default RS256 (HS256: signed with the client secret)
    OIDC_USERNAME_CLAIM       default preferred_username: matched against the LIMS's user names
    OIDC_EMAIL_CLAIM, OIDC_FIRST_NAME_CLAIM, OIDC_LAST_NAME_CLAIM, OIDC_NAME_CLAIM
                              default email, given_name, family_name, name (the last split when the others lack)
    OIDC_GROUPS_CLAIM         default groups
    OIDC_ROLE_MAP             group:role;group:role (lims.identity.roles); unset: roles are left alone
    OIDC_CREATE_USERS         default 1: a person unknown here gets an account at their first sign-in
    OIDC_MATCH_EMAIL          default 0: 1 also matches an existing account by a *verified* e-mail
    OIDC_MATCH_LOCAL_ACCOUNTS default 0: 1 lets the provider sign into accounts that have a local password too
    OIDC_PROVIDER_NAME        the button's "Sign in with …", default FACILITY_NAME
    OIDC_BUTTON               default 1; 0 hides the button (the callback still works)
    OIDC_USE_PKCE             default 1
    OIDC_TOKEN_BASIC_AUTH     default 0 (client_secret_post); 1: client_secret_basic
    OIDC_VERIFY_SSL           default 1; 0, or the path of a CA bundle
    OIDC_TIMEOUT              seconds for each request to the provider, default 10
"""

from django.core.exceptions import ImproperlyConfigured

from lims.identity.roles import parse_role_map

BACKEND = "lims.identity.oidc.OIDCBackend"
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
# Setting of mozilla-django-oidc (or of lims.identity.oidc) <- variable.
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "OIDC_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT": "OIDC_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT": "OIDC_USERINFO_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT": "OIDC_JWKS_URI",
}
CLAIMS = {
    "OIDC_USERNAME_CLAIM": "preferred_username",
    "OIDC_EMAIL_CLAIM": "email",
    "OIDC_FIRST_NAME_CLAIM": "given_name",
    "OIDC_LAST_NAME_CLAIM": "family_name",
    "OIDC_NAME_CLAIM": "name",
    "OIDC_GROUPS_CLAIM": "groups",
}


def _flag(env, name: str, default: bool) -> bool:
    value = env(name, "").strip().lower()
    if not value:
        return default
    if value in TRUE | FALSE:
        return value in TRUE
    raise ImproperlyConfigured(f"{name} must be 1 or 0, not {value!r}.")


def _url(env, name: str, default: str = "") -> str:
    value = env(name, default).strip()
    if value and not value.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"{name} must be an http(s) URL, not {value!r}.")
    return value


def configure(ns: dict, env) -> None:
    """Add the OIDC login to the settings namespace ``ns`` (settings.py's globals) when it is configured.

    ``env(name, default)`` reads one variable (unset and empty both mean the default)."""
    issuer = _url(env, "OIDC_ISSUER").rstrip("/")
    if not issuer:
        return
    client_id, client_secret = env("OIDC_CLIENT_ID", "").strip(), env("OIDC_CLIENT_SECRET", "").strip()
    if not client_id or not client_secret:
        raise ImproperlyConfigured("OIDC_ISSUER is set: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too.")
    try:
        timeout = float(env("OIDC_TIMEOUT", "10"))
    except ValueError:
        raise ImproperlyConfigured("OIDC_TIMEOUT must be a number of seconds.") from None
    verify = env("OIDC_VERIFY_SSL", "1").strip()
    algo = env("OIDC_SIGN_ALGO", "RS256").strip().upper()
    if not algo.startswith(("RS", "ES", "PS", "HS")):
        raise ImproperlyConfigured(f"OIDC_SIGN_ALGO {algo!r}: use RS256 (the usual), ES256 or HS256.")

    ns["OIDC_ENABLED"] = True
    ns["OIDC_ISSUER"] = issuer
    ns["OIDC_DISCOVERY_URL"] = _url(env, "OIDC_DISCOVERY_URL", f"{issuer}/.well-known/openid-configuration")
    for setting, variable in ENDPOINTS.items():
        ns[setting] = _url(env, variable)
    ns["OIDC_RP_CLIENT_ID"] = client_id
    ns["OIDC_RP_CLIENT_SECRET"] = client_secret
    ns["OIDC_RP_SCOPES"] = " ".join(env("OIDC_SCOPES", "openid email profile").split())
    if "openid" not in ns["OIDC_RP_SCOPES"].split():
        raise ImproperlyConfigured("OIDC_SCOPES must include openid.")
    ns["OIDC_RP_SIGN_ALGO"] = algo
    ns["OIDC_USE_PKCE"] = _flag(env, "OIDC_USE_PKCE", True)
    ns["OIDC_TOKEN_USE_BASIC_AUTH"] = _flag(env, "OIDC_TOKEN_BASIC_AUTH", False)
    ns["OIDC_VERIFY_SSL"] = verify if verify.lower() not in TRUE | FALSE else verify.lower() in TRUE
    ns["OIDC_TIMEOUT"] = timeout
    for setting, default in CLAIMS.items():
        ns[setting] = env(setting, default).strip()
    ns["OIDC_ROLE_MAP"] = env("OIDC_ROLE_MAP", "").strip()
    parse_role_map(ns["OIDC_ROLE_MAP"], "OIDC_ROLE_MAP")  # a map naming no facility role stops the start
    ns["OIDC_CREATE_USER"] = _flag(env, "OIDC_CREATE_USERS", True)
    ns["OIDC_MATCH_EMAIL"] = _flag(env, "OIDC_MATCH_EMAIL", False)
    ns["OIDC_MATCH_LOCAL_ACCOUNTS"] = _flag(env, "OIDC_MATCH_LOCAL_ACCOUNTS", False)
    ns["OIDC_PROVIDER_NAME"] = env("OIDC_PROVIDER_NAME", "").strip()
    ns["OIDC_BUTTON"] = _flag(env, "OIDC_BUTTON", True)
    # After ModelBackend; it answers only the callback's code, never a user name and password.
    backends = list(ns.get("AUTHENTICATION_BACKENDS", ["django.contrib.auth.backends.ModelBackend"]))
    if BACKEND not in backends:
        backends.append(BACKEND)
    ns["AUTHENTICATION_BACKENDS"] = backends
