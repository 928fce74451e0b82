"""LDAP login settings, from the environment (see docs/identity-ldap.md). Off unless LDAP_SERVER_URI is set.

    configure(ns, env)      called by settings.py with its globals and its string reader ``env(name, default)``

Nothing here imports a model (settings are still loading): django-auth-ldap's ``config`` module is made for
settings files, and the group-to-role map is checked against the facility roles by a system check
(``check_role_map``, run by ``manage.py check``, ``migrate`` and ``runserver``) and at each login.

When configured, ``lims.identity.ldap.LimsLDAPBackend`` comes after django-axes' backend (a locked-out
username is refused before the directory is asked; a refused LDAP password is counted) and after Django's
ModelBackend (local accounts such as the admin sign in without waiting for the directory).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from lims.identity.roles import parse_role_map

BACKEND = "lims.identity.ldap.LimsLDAPBackend"
AXES_BACKEND = "axes.backends.AxesStandaloneBackend"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# LDAP_GROUP_TYPE -> (django-auth-ldap's group type class, its constructor's keywords, the default filter)
GROUP_TYPES = {
    "groupofnames": ("GroupOfNamesType", {}, "(objectClass=groupOfNames)"),
    "groupofuniquenames": ("GroupOfUniqueNamesType", {}, "(objectClass=groupOfUniqueNames)"),
    "posixgroup": ("PosixGroupType", {}, "(objectClass=posixGroup)"),
    "nestedgroupofnames": ("NestedGroupOfNamesType", {}, "(objectClass=groupOfNames)"),
    "activedirectory": ("ActiveDirectoryGroupType", {}, "(objectClass=group)"),
    "nestedactivedirectory": ("NestedActiveDirectoryGroupType", {}, "(objectClass=group)"),
}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _bool(env, name: str, default: bool) -> bool:
    value = env(name, "").strip().lower()
    if not value:
        return default
    if value not in TRUE | FALSE:
        raise ImproperlyConfigured(f"{name} must be on or off (1/0, true/false), not {value!r}.")
    return value in TRUE


def _seconds(env, name: str, default: float) -> float:
    value = env(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {value!r}.") from None
    if seconds < 0:
        raise ImproperlyConfigured(f"{name} must not be negative.")
    return seconds


def configure(ns: dict, env) -> None:
    """Add the LDAP login to the settings namespace ``ns`` (settings.py's globals) when it is configured."""
    uri = env("LDAP_SERVER_URI", "").strip()
    if not uri:
        return

    import ldap
    from django_auth_ldap import config

    ns["AUTH_LDAP_SERVER_URI"] = uri
    # An empty bind DN and password: an anonymous bind to search for the user (or none, with a DN template).
    ns["AUTH_LDAP_BIND_DN"] = env("LDAP_BIND_DN", "")
    ns["AUTH_LDAP_BIND_PASSWORD"] = env("LDAP_BIND_PASSWORD", "")
    # No service account: once the user's password is accepted, their entry and groups are read as them.
    ns["AUTH_LDAP_BIND_AS_AUTHENTICATING_USER"] = not ns["AUTH_LDAP_BIND_DN"]
    ns["AUTH_LDAP_START_TLS"] = _bool(env, "LDAP_START_TLS", False)

    # A directory that is down or hangs must not hold a login (and a gunicorn worker) for long.
    timeout = _seconds(env, "LDAP_TIMEOUT", 5)
    options = {
        ldap.OPT_NETWORK_TIMEOUT: timeout,  # connecting
        ldap.OPT_TIMEOUT: timeout,  # waiting for each answer (bind, search)
        ldap.OPT_REFERRALS: 0,  # never chase referrals (Active Directory's would bind anonymously elsewhere)
    }
    ca_file = env("LDAP_CA_CERT_FILE", "").strip()
    if ca_file:
        options[ldap.OPT_X_TLS_CACERTFILE] = ca_file
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: builds the TLS context with the options above
    ns["AUTH_LDAP_CONNECTION_OPTIONS"] = options

    template = env("LDAP_USER_DN_TEMPLATE", "").strip()
    search_base = env("LDAP_USER_SEARCH_BASE", "").strip()
    if template:
        if "%(user)s" not in template:
            raise ImproperlyConfigured("LDAP_USER_DN_TEMPLATE must hold %(user)s, e.g. uid=%(user)s,ou=people,dc=…")
        ns["AUTH_LDAP_USER_DN_TEMPLATE"] = template
    elif search_base:
        search_filter = env("LDAP_USER_SEARCH_FILTER", "(uid=%(user)s)").strip()
        if "%(user)s" not in search_filter:
            raise ImproperlyConfigured("LDAP_USER_SEARCH_FILTER must hold %(user)s, e.g. (uid=%(user)s).")
        ns["AUTH_LDAP_USER_SEARCH"] = config.LDAPSearch(search_base, ldap.SCOPE_SUBTREE, search_filter)
    else:
        raise ImproperlyConfigured(
            "LDAP_SERVER_URI is set: set LDAP_USER_SEARCH_BASE (with LDAP_USER_SEARCH_FILTER) to find users, "
            "or LDAP_USER_DN_TEMPLATE to bind as uid=%(user)s,… directly."
        )
    ns["AUTH_LDAP_USER_ATTR_MAP"] = {
        "first_name": env("LDAP_ATTR_FIRST_NAME", "givenName").strip(),
        "last_name": env("LDAP_ATTR_LAST_NAME", "sn").strip(),
        "email": env("LDAP_ATTR_EMAIL", "mail").strip(),
    }
    ns["AUTH_LDAP_ALWAYS_UPDATE_USER"] = True  # names and e-mail follow the directory at each login

    group_base = env("LDAP_GROUP_SEARCH_BASE", "").strip()
    role_map = env("LDAP_ROLE_MAP", "").strip()
    require_group = env("LDAP_REQUIRE_GROUP", "").strip()
    if group_base:
        kind = env("LDAP_GROUP_TYPE", "groupOfNames").strip()
        if kind.lower() not in GROUP_TYPES:
            raise ImproperlyConfigured(
                f"LDAP_GROUP_TYPE {kind!r} is not one of: groupOfNames, groupOfUniqueNames, posixGroup, "
                "nestedGroupOfNames, activeDirectory, nestedActiveDirectory."
            )
        class_name, kwargs, default_filter = GROUP_TYPES[kind.lower()]
        group_filter = env("LDAP_GROUP_SEARCH_FILTER", default_filter).strip()
        ns["AUTH_LDAP_GROUP_TYPE"] = getattr(config, class_name)(**kwargs)
        ns["AUTH_LDAP_GROUP_SEARCH"] = config.LDAPSearch(group_base, ldap.SCOPE_SUBTREE, group_filter)
    elif role_map or require_group:
        raise ImproperlyConfigured("LDAP_ROLE_MAP and LDAP_REQUIRE_GROUP need LDAP_GROUP_SEARCH_BASE.")
    if require_group:
        ns["AUTH_LDAP_REQUIRE_GROUP"] = require_group
    # Read at each login by lims.identity.ldap (``parse_role_map``'s format); empty: roles are left alone. A
    # map naming no facility role stops the start here.
    parse_role_map(role_map, "LDAP_ROLE_MAP")
    ns["LIMS_LDAP_ROLE_MAP"] = role_map
    # Group lookups (and user DN searches) are cached this many seconds; 0 (the default): asked at every
    # login, so a change in the directory counts at the next sign-in.
    ns["AUTH_LDAP_CACHE_TIMEOUT"] = int(_seconds(env, "LDAP_CACHE_TIMEOUT", 0))

    backends = [name for name in ns.get("AUTHENTICATION_BACKENDS", [MODEL_BACKEND]) if name != BACKEND]
    if MODEL_BACKEND not in backends:
        backends.append(MODEL_BACKEND)
    ns["AUTHENTICATION_BACKENDS"] = [*backends, BACKEND]  # after axes' and the local accounts' backends
