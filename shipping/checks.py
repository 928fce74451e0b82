"""System checks of the shipping app: the label sheets the facility configured must fit their page."""

from django.core.checks import Error, register


@register()
def label_layouts(app_configs, **kwargs):
    """shipping.E001: a PIN_LABEL_*/PUCK_LABEL_* layout that would print off its page (see shipping/pdf/layout.py)."""
    from .pdf import layout_problems

    return [
        Error(problem, hint="See the label settings in README.md.", id="shipping.E001") for problem in layout_problems()
    ]
