"""Who may see and do what. Every queryset of a proposal's objects is scoped through ``scope()``.

Users see what belongs to the proposals they are members of; facility staff (the Django groups of
``FacilityRole``, and superusers) see every proposal. Another proposal's object is then simply not
in the queryset, so views answer 404 and never confirm that it exists.
"""

from django.db.models import Q, QuerySet

from .choices import FacilityRole, ProposalKind

STAFF_ROLES = frozenset(FacilityRole.values)


def facility_roles(user) -> frozenset[str]:
    """The facility roles (group names) a user holds; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_facility_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=STAFF_ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(FacilityRole.ADMIN)
        cached = frozenset(names)
        user._facility_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(facility_roles(user) & set(roles))


def is_facility_staff(user) -> bool:
    """Any facility role: sees every proposal's shipments and may correct them after sending."""
    return bool(facility_roles(user))


def is_admin(user) -> bool:
    return has_role(user, FacilityRole.ADMIN)


def member_proposal_ids(user) -> QuerySet:
    """The ids of the proposals the user is a member of, as a subquery."""
    from .models import ProposalMember

    return ProposalMember.objects.filter(user=user).values("proposal_id")


def scope(queryset: QuerySet, user, proposal_path: str) -> QuerySet:
    """Restrict ``queryset`` to what ``user`` may see; ``proposal_path`` leads from the model to Proposal.

    ``proposal_path`` is a lookup path such as ``"shipment__proposal"`` (or ``""`` for Proposal itself).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if getattr(user, "is_machine", False):
        # An API token sees only what its beamline's selectors grant (lims.tokens), never a proposal's all.
        return queryset.none()
    if is_facility_staff(user):
        return queryset
    field = f"{proposal_path}__id__in" if proposal_path else "id__in"
    return queryset.filter(**{field: member_proposal_ids(user)})


def sees_confidential(user) -> bool:
    """Admins and mail-in operators see industrial proposals' data; no other role and no token does."""
    if getattr(user, "is_machine", False):
        return False
    return has_role(user, FacilityRole.ADMIN, FacilityRole.MAILIN_OPERATOR)


def scope_confidential(queryset: QuerySet, user, proposal_path: str) -> QuerySet:
    """``scope()`` for a proposal's DATA (collections, groups, result reports): industrial proposals' are
    confidential, visible only to their members, mail-in operators and admins.

    Members see their proposals' (industrial or not); admins and mail-in operators every proposal's; other
    facility staff (stores, beamline staff, local contacts) every proposal's but the industrial ones; an API
    token nothing of an industrial proposal (what else it sees is its selector's business: this only
    excludes, so a beamline selector keeps its beamline filter).
    """
    kind = f"{proposal_path}__kind" if proposal_path else "kind"
    if getattr(user, "is_machine", False):
        if not getattr(user, "is_active", False):
            return queryset.none()
        return queryset.exclude(**{kind: ProposalKind.INDUSTRIAL})
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if sees_confidential(user):
        return queryset
    if is_facility_staff(user):
        field = f"{proposal_path}__id__in" if proposal_path else "id__in"
        # Staff without the confidential roles: every academic proposal's, and their own industrial ones.
        return queryset.exclude(Q(**{kind: ProposalKind.INDUSTRIAL}) & ~Q(**{field: member_proposal_ids(user)}))
    field = f"{proposal_path}__id__in" if proposal_path else "id__in"
    return queryset.filter(**{field: member_proposal_ids(user)})


def is_member(user, proposal) -> bool:
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_machine", False):
        return False
    return proposal.memberships.filter(user=user).exists()
