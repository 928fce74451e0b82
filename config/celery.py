"""The Celery application. Without CELERY_BROKER_URL tasks run eagerly, in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("lims")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks of packages inside an app (autodiscovery looks for <app>.tasks only).
app.autodiscover_tasks(["samples.data", "samples.mailin"])
