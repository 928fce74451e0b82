from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The wiring as an app only so that its management commands (load_demo) are found. No models."""

    name = "config"
    verbose_name = "Configuration"
