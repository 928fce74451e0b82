"""Facility roles from an identity provider's groups (lims.identity.roles): the map a facility writes in a
setting, and what a login does to the user's roles."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured

from lims.identity.roles import apply_roles, parse_role_map, roles_from_groups
from lims.models import AuditEntry
from tests import factories as f


def test_a_map_reads_ldap_dns_and_roles_with_spaces():
    mapping = parse_role_map(
        "cn=mx-stores,ou=groups,dc=facility,dc=test:stores; MX-Staff:beamline staff;mx-staff:local contact;"
    )
    assert mapping == {
        "cn=mx-stores,ou=groups,dc=facility,dc=test": {"stores"},
        "mx-staff": {"beamline staff", "local contact"},
    }
    assert roles_from_groups(["MX-STAFF", "unrelated"], mapping) == {"beamline staff", "local contact"}
    assert parse_role_map("") == {}


@pytest.mark.parametrize("text", ["stores", "group:", ":stores", "group:superuser"])
def test_a_bad_map_stops_the_start_naming_the_entry(text):
    with pytest.raises(ImproperlyConfigured, match="OIDC_ROLE_MAP entry"):
        parse_role_map(text, "OIDC_ROLE_MAP")


@pytest.mark.django_db
def test_a_login_makes_the_facility_roles_exactly_those_granted_and_leaves_other_groups():
    user = f.UserFactory(groups=["stores", "admin"])
    other = Group.objects.create(name="reading club")
    user.groups.add(other)

    added, removed = apply_roles(user, {"stores", "beamline staff"})

    assert (added, removed) == ({"beamline staff"}, {"admin"})
    assert set(user.groups.values_list("name", flat=True)) == {"stores", "beamline staff", "reading club"}
    entry = AuditEntry.objects.get(object_id=str(user.pk))
    assert entry.changes == {"facility_roles": [["admin", "stores"], ["beamline staff", "stores"]]}
    assert "role beamline staff granted" in entry.message and "role admin removed" in entry.message

    assert apply_roles(user, {"stores", "beamline staff"}) == (set(), set())
    assert AuditEntry.objects.filter(object_id=str(user.pk)).count() == 1  # nothing changed, nothing recorded
