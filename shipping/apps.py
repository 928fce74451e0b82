from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "shipping"

    def ready(self):
        from . import checks  # noqa: F401  (registers the label layout check)
