"""Settings for the LIMS, read from environment variables with safe defaults.

The embedded default (nothing set) is a development install: SQLite in ``var/``, Celery tasks run
in-process, mail to the console. Production sets at least DEBUG=0, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL, CELERY_BROKER_URL and the EMAIL_* variables (see README.md).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from lims import label_stocks

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None


DEBUG = envbool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

# The facility running this LIMS: printed on labels and reports, and the prefix of dewar barcodes.
FACILITY_NAME = env("FACILITY_NAME", "Demo Synchrotron")
FACILITY_CODE = env("FACILITY_CODE", "DS")
FACILITY_ADDRESS = env("FACILITY_ADDRESS", "Demo Synchrotron, MX stores\n1 Beamline Avenue\n00000 Science Park")
# Code rules (lims.barcodes.codes). Dewar barcodes are the prefix + the dewar's id, zero-padded.
DEWAR_BARCODE_PREFIX = env("DEWAR_BARCODE_PREFIX", FACILITY_CODE).upper()
DEWAR_BARCODE_DIGITS = envint("DEWAR_BARCODE_DIGITS", 6)
PIN_CODE_PATTERN = env("PIN_CODE_PATTERN", r"^[A-Z0-9]{10}$")

# Labels (shipping/pdf). Pin-cap and puck labels are printed on sheets of label stock, named in
# lims/label_stocks.py: LABEL_STOCK for pins (default Avery L7651 on A4, Avery 5167 on Letter), PUCK_LABEL_STOCK
# for pucks (Avery L7160, Avery 5160). Any figure can still be set on its own (PIN_LABEL_WIDTH_MM, ...); a layout
# that does not fit the page is refused by `manage.py check` (shipping.E001) and again when labels are printed.
# The pin symbol defaults to 5.3 mm: with its quiet zone (6.4 mm) it fits the base of a SPINE/UniPuck pin cap.
LABEL_PAGE_SIZE = env("LABEL_PAGE_SIZE", "A4")
LABEL_STOCK = env("LABEL_STOCK", label_stocks.DEFAULT_PIN_STOCK.get(LABEL_PAGE_SIZE.upper(), "avery-l7651"))
PUCK_LABEL_STOCK = env("PUCK_LABEL_STOCK", label_stocks.DEFAULT_PUCK_STOCK.get(LABEL_PAGE_SIZE.upper(), "avery-l7160"))
_pin = label_stocks.stock(LABEL_STOCK, "LABEL_STOCK")[1:]
_puck = label_stocks.stock(PUCK_LABEL_STOCK, "PUCK_LABEL_STOCK")[1:]
_puck_symbol = label_stocks.PUCK_DATAMATRIX_MM.get(PUCK_LABEL_STOCK.strip().lower(), min(_puck[:2]) * 0.6)
PIN_LABEL_WIDTH_MM = envfloat("PIN_LABEL_WIDTH_MM", _pin[0])
PIN_LABEL_HEIGHT_MM = envfloat("PIN_LABEL_HEIGHT_MM", _pin[1])
PIN_LABEL_COLUMNS = envint("PIN_LABEL_COLUMNS", _pin[2])
PIN_LABEL_ROWS = envint("PIN_LABEL_ROWS", _pin[3])
PIN_LABEL_MARGIN_LEFT_MM = envfloat("PIN_LABEL_MARGIN_LEFT_MM", _pin[4])
PIN_LABEL_MARGIN_TOP_MM = envfloat("PIN_LABEL_MARGIN_TOP_MM", _pin[5])
PIN_LABEL_GAP_X_MM = envfloat("PIN_LABEL_GAP_X_MM", _pin[6])
PIN_LABEL_GAP_Y_MM = envfloat("PIN_LABEL_GAP_Y_MM", _pin[7])
PIN_DATAMATRIX_MM = envfloat("PIN_DATAMATRIX_MM", label_stocks.PIN_DATAMATRIX_MM)
PIN_LABEL_SHOW_NAME = envbool("PIN_LABEL_SHOW_NAME", True)
PUCK_LABEL_WIDTH_MM = envfloat("PUCK_LABEL_WIDTH_MM", _puck[0])
PUCK_LABEL_HEIGHT_MM = envfloat("PUCK_LABEL_HEIGHT_MM", _puck[1])
PUCK_LABEL_COLUMNS = envint("PUCK_LABEL_COLUMNS", _puck[2])
PUCK_LABEL_ROWS = envint("PUCK_LABEL_ROWS", _puck[3])
PUCK_LABEL_MARGIN_LEFT_MM = envfloat("PUCK_LABEL_MARGIN_LEFT_MM", _puck[4])
PUCK_LABEL_MARGIN_TOP_MM = envfloat("PUCK_LABEL_MARGIN_TOP_MM", _puck[5])
PUCK_LABEL_GAP_X_MM = envfloat("PUCK_LABEL_GAP_X_MM", _puck[6])
PUCK_LABEL_GAP_Y_MM = envfloat("PUCK_LABEL_GAP_Y_MM", _puck[7])
PUCK_DATAMATRIX_MM = envfloat("PUCK_DATAMATRIX_MM", _puck_symbol)
# Puck codes are printed as a DataMatrix on the puck: 20 characters still fit a small 18×18 symbol.
PUCK_CODE_PATTERN = env("PUCK_CODE_PATTERN", r"^[A-Z0-9-]{1,20}$")
# Location codes are printed on sheets for the scan station ("LOC-STORES"); the field holds 40.
LOCATION_CODE_PATTERN = env("LOCATION_CODE_PATTERN", r"^[A-Z0-9-]{1,40}$")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "lims",
    "shipping",
    "samples",
    "config",  # the wiring: its management commands (load_demo)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "lims.content_policy.ContentSecurityPolicyMiddleware",
    # Serves the collected static files under gunicorn, so no separate web server is needed for them.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # An API answer's data freed as soon as it is written, not by the garbage collector (DRF's cycles).
    "lims.api.middleware.ReleaseRenderedResponse",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lims.context_processors.facility",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # The test database is a file, not memory: the real-path notification test starts a Celery worker, a
    # separate process, which must read the events the test writes. One file per test run (the pid), so
    # that two runs in one checkout do not share it; Django deletes it when the run ends.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

# The hot paths' statements (lims.compiled) PREPAREd once per PostgreSQL connection. Off behind a pooler in
# transaction mode (PgBouncer's default), which does not keep a session's prepared statements.
DB_PREPARED = envbool("DB_PREPARED", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
# The shipment form posts every field of every filled position of every puck (about 25 per sample):
# a shipment of 3 dewars × 4 pucks × 16 samples is some 5,000 fields, over Django's default of 1,000.
DATA_UPLOAD_MAX_NUMBER_FIELDS = envint("DATA_UPLOAD_MAX_NUMBER_FIELDS", 20000)

# Where the beamlines write data (collections' directories must lie under it to be downloaded), and where the
# download cart's archives are built.
DATA_ROOT = Path(env("DATA_ROOT", str(VAR_DIR / "data")))
DOWNLOAD_ROOT = Path(env("DOWNLOAD_ROOT", str(VAR_DIR / "downloads")))

# Bearer tokens of the ISPyB-compatible login (seconds): beamline control refreshes on a 401.
BEARER_TOKEN_TTL = envint("BEARER_TOKEN_TTL", 3600)
BEARER_REFRESH_TTL = envint("BEARER_REFRESH_TTL", 7 * 24 * 3600)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login and tokens (lims.logins, lims.tokens). Failed password logins (the sign-in page, the admin's,
# /api/v1/auth/token/ and the ISPyB-compatible login) are counted by django-axes per username and client
# address together: after AXES_FAILURE_LIMIT failures that username is refused from that address, right
# password or not, for AXES_COOLOFF_TIME hours (0: until an admin lifts it in the admin's "Access attempts"
# or with `manage.py axes_reset_username`). A successful login clears the count.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes asks: it turns a lockout into the answer
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
_axes_cooloff_hours = envfloat("AXES_COOLOFF_TIME", 0.5)
AXES_COOLOFF_TIME = timedelta(hours=_axes_cooloff_hours) if _axes_cooloff_hours > 0 else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "lims.logins.lockout_response"
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged
# The facility's identity provider (lims/identity/; docs/identity-oidc.md, docs/identity-ldap.md): OpenID
# Connect single sign-on and LDAP logins, each off until its variables are set; local passwords keep working.
from lims.identity import ldap_settings, oidc_settings  # noqa: E402 (after the settings they extend)

oidc_settings.configure(globals(), env)
ldap_settings.configure(globals(), env)
# Personal API tokens (POST /api/v1/auth/token/), stored hashed, expire after this many seconds.
PERSONAL_TOKEN_TTL = envint("PERSONAL_TOKEN_TTL", 30 * 24 * 3600)

# The address of this site as users reach it: links in emails are built on it (no request to ask).
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Email: console by default; SMTP when EMAIL_HOST is set.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "lims@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 20)
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# Celery: with no broker the tasks run eagerly, in-process (development and tests).
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# Celery beat (`make beat`, or a worker started with -B): the notification outbox hands queued emails that
# no worker took (broker down when the scan committed) to a worker again once they are a minute overdue.
CELERY_BEAT_SCHEDULE = {
    "resend-stale-notifications": {"task": "shipping.tasks.resend_stale_notifications", "schedule": 60.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The user office's feed of proposals, sessions and members (lims/user_office/, docs/user-office.md).
from lims.user_office import settings as user_office_settings  # noqa: E402

user_office_settings.configure(globals(), env)
# A notification queued or sending this long past its due time shows as stuck on the staff dashboard.
NOTIFICATION_STUCK_MINUTES = envint("NOTIFICATION_STUCK_MINUTES", 15)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "lims.tokens.PersonalTokenAuthentication",
        "lims.tokens.BearerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "lims.api.renderers.JSONRenderer",  # orjson, the same output as DRF's
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "lims.api.parsers.JSONParser",  # refuses too deep a nesting with a 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "lims.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "lims.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "lims.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MX LIMS API",
    "DESCRIPTION": "Shipments, dewars, containers (pucks) and samples (pins) of an MX facility.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page is served from vendored assets: beamline networks are often closed to CDNs.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" or a "kind": name each choice set after its class.
    "ENUM_NAME_OVERRIDES": {
        "ShipmentStatusEnum": "shipping.choices.ShipmentStatus",
        "DewarStatusEnum": "shipping.choices.DewarStatus",
        "LocationKindEnum": "shipping.choices.LocationKind",
        "DewarEventKindEnum": "shipping.choices.DewarEventKind",
        "ContainerStatusEnum": "samples.choices.ContainerStatus",
        "SampleStatusEnum": "samples.choices.SampleStatus",
        "CollectionStatusEnum": "samples.data.choices.CollectionStatus",
        "ProposalKindEnum": "lims.choices.ProposalKind",
    },
}

# Production hardening: on whenever DEBUG is off; behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER via USE_X_FORWARDED_PROTO=1.
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
if envbool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp) on every response: scripts and styles only from our own static files,
# so an injected <script>, onclick=, <style> or style="" does nothing. The templates hold no inline code (it is in
# static/js and static/css); the API docs page loads its init script from a URL (lims.api.docs); the middleware
# (lims.content_policy) lets DRF's browsable API alone keep its style attributes. img-src allows data: for the
# decode page's photo preview and the blank favicon; the camera is a file input (capture), so no blob: is needed.
# CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only instead (nothing is blocked,
# violations go to CSP_REPORT_URI if set): to try it on a site before enforcing it.
_csp = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        **({"report-uri": [env("CSP_REPORT_URI")]} if env("CSP_REPORT_URI") else {}),
    }
}
if envbool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp
else:
    CONTENT_SECURITY_POLICY = _csp

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

# Courier tracking links on the dewar and shipment pages, in the transport PDF and in emails: one URL
# template per courier, "{tracking}" standing for the (URL-encoded) tracking number. COURIER_TRACKING_URLS
# is a JSON object merged into these defaults; an empty string removes a courier.
DEFAULT_COURIER_TRACKING_URLS = {
    "DHL": "https://www.dhl.com/en/express/tracking.html?AWB={tracking}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={tracking}",
    "UPS": "https://www.ups.com/track?tracknum={tracking}",
    "TNT": "https://www.tnt.com/express/en_gc/site/shipping-tools/tracking.html?searchType=con&cons={tracking}",
}


def _courier_tracking_urls() -> dict[str, str]:
    import json

    raw = env("COURIER_TRACKING_URLS")
    try:
        extra = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise ImproperlyConfigured(f"COURIER_TRACKING_URLS must be a JSON object: {exc}") from None
    if not isinstance(extra, dict) or not all(isinstance(v, str | None) for v in extra.values()):
        raise ImproperlyConfigured('COURIER_TRACKING_URLS must be a JSON object {"courier": "https://...{tracking}"}.')
    urls = {**DEFAULT_COURIER_TRACKING_URLS, **extra}
    for courier, url in urls.items():
        if url and "{tracking}" not in url:
            raise ImproperlyConfigured(f"COURIER_TRACKING_URLS: the URL of {courier} has no {{tracking}} placeholder.")
    return {courier: url for courier, url in urls.items() if url}


COURIER_TRACKING_URLS = _courier_tracking_urls()

# The catalogue's covering index (samples.DataCollection) carries INCLUDE columns on PostgreSQL; SQLite, the
# embedded default, builds it without them, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
