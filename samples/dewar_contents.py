"""What a dewar's pucks and pins do when the dewar moves: the one door of this app's services that shipping
goes through (``.importlinter``). Shipping's dewar movements (``shipping.services.dewars``) lock the pucks after
the dewar, make them follow it (at facility when it arrives, returned when it goes home), and take them out of a
sample changer when a dewar is unloaded to be dispatched. The rules are the tree's, in ``samples.services``.

    dewar_contents_lock(dewar) -> list[Container]
    containers_follow_dewar(*, containers, status, user, message) -> None
    container_unassign(*, container, user, message="") -> Container
"""

from .services import container_unassign, containers_follow_dewar, dewar_contents_lock

__all__ = ["container_unassign", "containers_follow_dewar", "dewar_contents_lock"]
