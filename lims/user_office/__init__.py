"""The user office's proposals, sessions and members, synced from its feed (see docs/user-office.md)."""
