"""Settings come from the environment: production refuses to start without a secret and passes --deploy."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "x7Qp9vR2sT5wY8zA1cE4gH6jL0nM3bD" * 2,
    "ALLOWED_HOSTS": "lims.example.org",
    "DATABASE_URL": "postgres://lims@db.example.org:5432/lims",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_HOST": "smtp.example.org",
}


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_off_without_secret_key_refuses_to_start():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_environment_drives_database_broker_and_mail():
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.FACILITY_CODE)"
    )
    result = manage("shell", "-c", code, env={**PRODUCTION, "FACILITY_CODE": "ZZ"})
    assert result.stdout.split()[-4:] == [
        "django.db.backends.postgresql",
        "False",
        "django.core.mail.backends.smtp.EmailBackend",
        "ZZ",
    ], result.stderr


def test_embedded_default_is_sqlite_with_eager_tasks(settings):
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)",
        env={"DATABASE_URL": "", "CELERY_BROKER_URL": ""},
    )
    assert result.stdout.split()[-2:] == ["django.db.backends.sqlite3", "True"], result.stderr
