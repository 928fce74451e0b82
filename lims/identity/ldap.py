"""The LDAP login: django-auth-ldap's backend as the facility uses it (settings: ``ldap_settings``; docs/identity-ldap.md).

    LimsLDAPBackend        AUTHENTICATION_BACKENDS entry, added by ldap_settings.configure

Every password login (the sign-in page, ``/api/v1/auth/token/``, the ISPyB-compatible login that MXCuBE
uses) goes through ``django.contrib.auth.authenticate``, so this one backend serves all three; django-axes,
before it, refuses a locked-out username and counts a refused LDAP password as any other.

At each LDAP login:
- the Django user is found by user name (case-insensitively) or created, without a usable password; its
  first and last name and e-mail are copied from the directory;
- a local account, one with a usable password of its own (the admin made by ``createsuperuser``, the demo's
  users), is never signed in by the directory: a person of the same name in LDAP must not take it over;
- with ``LDAP_ROLE_MAP`` set, the user's facility roles become exactly those their LDAP groups grant
  (``lims.identity.roles``: matched by the group's DN or by its name); if the groups cannot be read, the
  login is refused rather than leaving stale roles.

A directory that cannot be reached (down, hung past ``LDAP_TIMEOUT``, TLS refused) refuses the login like a
wrong password, never a 500; the sign-in page also says the directory is unreachable, and local accounts
still sign in (ModelBackend comes first).
"""

from __future__ import annotations

import logging

import ldap
import ldap.dn
from django.conf import settings
from django.contrib import messages
from django_auth_ldap.backend import LDAPBackend, ldap_error

from lims.identity.roles import apply_roles, parse_role_map, roles_from_groups

logger = logging.getLogger(__name__)

# Told on the sign-in page when the directory fails (down, hung, TLS refused): nothing the user can fix by
# typing again. A refused password is no error here (django-auth-ldap reports only the directory's failures).
UNREACHABLE_MESSAGE = (
    "The facility's user directory (LDAP) cannot be reached just now, so directory accounts cannot sign in: "
    "try again in a few minutes, or tell the facility's IT if it lasts."
)


def _group_key(name: str) -> str:
    """A group's DN in one spelling (no spaces after commas, lower case); any other name lower-cased."""
    name = str(name).strip()
    try:
        parts = ldap.dn.str2dn(name)
    except ldap.DECODING_ERROR:
        parts = None
    return (ldap.dn.dn2str(parts) if parts else name).lower()


def role_map() -> dict[str, set[str]]:
    """``LDAP_ROLE_MAP`` parsed, its group DNs in the spelling ``_group_key`` gives the user's groups."""
    mapping: dict[str, set[str]] = {}
    for group, roles in parse_role_map(getattr(settings, "LIMS_LDAP_ROLE_MAP", "")).items():
        mapping.setdefault(_group_key(group), set()).update(roles)
    return mapping


class LimsLDAPBackend(LDAPBackend):
    def get_or_build_user(self, username, ldap_user):
        user, built = super().get_or_build_user(username, ldap_user)
        if not built and user.has_usable_password():
            raise ldap_user.AuthenticationFailed(f"{user.get_username()!r} is a local account (it has a password)")
        return user, built

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None or not getattr(settings, "LIMS_LDAP_ROLE_MAP", ""):
            return user
        mapping = role_map()
        try:
            groups = {_group_key(name) for name in (*ldap_user.group_dns, *ldap_user.group_names)}
        except ldap.LDAPError as error:
            directory_error(type(self), context="roles", user=user, request=ldap_user._request, exception=error)
            return None
        apply_roles(user, roles_from_groups(groups, mapping), by="LDAP login")
        return user


def directory_error(sender, *, context, user, request, exception, **kwargs):
    """django-auth-ldap's ``ldap_error`` (the directory failed, not the password): logged, and told on the
    sign-in page (the APIs answer their usual refusal)."""
    logger.error("LDAP directory %s failed (%s): %r", getattr(settings, "AUTH_LDAP_SERVER_URI", ""), context, exception)
    if request is None or getattr(request, "ldap_unreachable", False):
        return
    request.ldap_unreachable = True
    from lims.api.errors import API_PREFIXES  # lims.api imports other apps: not at module level

    if not request.path.startswith(API_PREFIXES):
        messages.error(request, UNREACHABLE_MESSAGE, fail_silently=True)


ldap_error.connect(directory_error, sender=LimsLDAPBackend, dispatch_uid="lims.identity.ldap.directory_error")
