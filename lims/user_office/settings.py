"""User-office sync settings, from the environment (see docs/user-office.md). No periodic sync unless
USER_OFFICE_FEED is set."""


def configure(ns: dict, env) -> None:
    """Add the user-office sync's settings (and its beat entry) to the settings namespace ``ns``."""
