"""User-office sync settings, from the environment (see docs/user-office.md). No periodic sync unless
USER_OFFICE_FEED is set.

Kept free of Django models: settings.py calls ``configure`` while the settings are being read.
"""

from django.core.exceptions import ImproperlyConfigured

TASK = "lims.tasks.sync_user_office"


def _number(env, name: str, default: float, *, minimum: float) -> float:
    raw = env(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}, not {raw!r}.")
    return value


def configure(ns: dict, env) -> None:
    """Add the user-office sync's settings (and its beat entry) to the settings namespace ``ns``.

    USER_OFFICE_FEED          a file path or an http(s) URL of the feed (JSON or CSV); empty: no periodic sync
    USER_OFFICE_FORMAT        "json" or "csv"; empty: from the name's extension, the Content-Type, or the content
    USER_OFFICE_SYNC_MINUTES  how often Celery beat runs the sync (default 30)
    USER_OFFICE_TIMEOUT       seconds to wait for the URL (default 30)
    USER_OFFICE_TOKEN         sent with the request: "Authorization: Bearer <token>" ...
    USER_OFFICE_TOKEN_HEADER  ... or "<header>: <token>" when a header name is given (e.g. X-Api-Key)
    USER_OFFICE_MAX_MB        a larger feed is refused (default 50)
    """
    feed = env("USER_OFFICE_FEED", "").strip()
    fmt = env("USER_OFFICE_FORMAT", "").strip().lower()
    if fmt not in {"", "json", "csv"}:
        raise ImproperlyConfigured(f'USER_OFFICE_FORMAT must be "json" or "csv", not {fmt!r}.')
    minutes = _number(env, "USER_OFFICE_SYNC_MINUTES", 30, minimum=1)
    ns["USER_OFFICE_FEED"] = feed
    ns["USER_OFFICE_FORMAT"] = fmt
    ns["USER_OFFICE_SYNC_MINUTES"] = minutes
    ns["USER_OFFICE_TIMEOUT"] = _number(env, "USER_OFFICE_TIMEOUT", 30, minimum=1)
    ns["USER_OFFICE_TOKEN"] = env("USER_OFFICE_TOKEN", "")
    ns["USER_OFFICE_TOKEN_HEADER"] = env("USER_OFFICE_TOKEN_HEADER", "").strip()
    ns["USER_OFFICE_MAX_BYTES"] = int(_number(env, "USER_OFFICE_MAX_MB", 50, minimum=0.001) * 1024 * 1024)
    if feed:
        ns.setdefault("CELERY_BEAT_SCHEDULE", {})["sync-user-office"] = {"task": TASK, "schedule": minutes * 60.0}
