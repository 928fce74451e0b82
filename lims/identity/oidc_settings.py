"""OpenID Connect login settings, from the environment (see docs/identity.md). Off unless OIDC_ISSUER is set."""


def configure(ns: dict, env) -> None:
    """Add the OIDC login to the settings namespace ``ns`` (settings.py's globals) when it is configured."""
