"""LDAP login settings, from the environment (see docs/identity.md). Off unless LDAP_SERVER_URI is set."""


def configure(ns: dict, env) -> None:
    """Add the LDAP login to the settings namespace ``ns`` (settings.py's globals) when it is configured."""
