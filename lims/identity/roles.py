"""Facility roles (the Django groups named by ``FacilityRole``) set from an identity provider's groups.

    parse_role_map("cn=mx-stores:stores;staff:beamline staff") -> {"cn=mx-stores": {"stores"}, ...}
    roles_from_groups(groups, role_map) -> set[str]
    apply_roles(user, roles) -> (added, removed)       # audited; only facility roles are touched

A setting maps the provider's group names (an OIDC ``groups`` claim, an LDAP group's DN) to facility roles:
``group:role`` pairs separated by ``;`` (a group's name may hold ``,`` and ``=``, as LDAP DNs do, and a role
may hold spaces, as "beamline staff" does). One group may grant several roles (repeat it). A role named in the
map that is not a facility role is refused at start-up: each login's settings call ``parse_role_map``, which
raises ImproperlyConfigured (this module imports no model at its top, so the settings can import it).

At each login the user's facility roles become exactly those their groups grant: a role granted by hand in the
admin but not by the provider is removed, since the provider is where the facility manages them. Groups that
are not facility roles are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from lims.choices import AuditAction, FacilityRole


def parse_role_map(text: str, variable: str = "Role map") -> dict[str, set[str]]:
    """``group:role;group:role`` -> {group: {roles}}; group names compared case-insensitively. A bad entry raises
    ImproperlyConfigured naming ``variable`` (the setting it came from) and the entry."""
    mapping: dict[str, set[str]] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(";"))):
        group, sep, role = item.rpartition(":")
        group, role = group.strip(), role.strip()
        if not sep or not group or not role:
            raise ImproperlyConfigured(f"{variable} entry {item!r}: write it as 'group:role'.")
        if role not in FacilityRole.values:
            raise ImproperlyConfigured(
                f"{variable} entry {item!r}: {role!r} is not a facility role (one of: {', '.join(FacilityRole.values)})."
            )
        mapping.setdefault(group.lower(), set()).add(role)
    return mapping


def roles_from_groups(groups: Iterable[str], role_map: dict[str, set[str]]) -> set[str]:
    roles: set[str] = set()
    for group in groups:
        roles |= role_map.get(str(group).strip().lower(), set())
    return roles


@transaction.atomic
def apply_roles(user, roles: set[str], *, by: str = "login") -> tuple[set[str], set[str]]:
    """Make ``user``'s facility roles exactly ``roles``; returns (added, removed), each change audited."""
    # Imported here: the settings import this module (``parse_role_map`` checks a map at start-up).
    from django.contrib.auth.models import Group

    from lims import audit

    current = set(user.groups.filter(name__in=FacilityRole.values).values_list("name", flat=True))
    added, removed = roles - current, current - roles
    if added:
        groups = [Group.objects.get_or_create(name=name)[0] for name in sorted(added)]
        user.groups.add(*groups)
    if removed:
        user.groups.remove(*Group.objects.filter(name__in=removed))
    if added or removed:
        words = [f"role {name} granted" for name in sorted(added)] + [
            f"role {name} removed" for name in sorted(removed)
        ]
        audit.record(
            user=user,
            action=AuditAction.UPDATE,
            obj=user,
            before={"facility_roles": sorted(current)},
            after={"facility_roles": sorted(roles)},  # never a snapshot of the user row (its password hash)
            message=f"{by}: " + ", ".join(words),
        )
    return added, removed
