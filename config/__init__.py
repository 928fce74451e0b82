"""The wiring: settings, root URLs, the API's one router, the Celery app, WSGI, the dashboard and the demo loader.
The only package that knows every app; the apps know the core (``lims``) and, between them, models and choices."""

from .celery import app as celery_app

__all__ = ("celery_app",)
