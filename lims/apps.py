from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    verbose_name = "LIMS core"
