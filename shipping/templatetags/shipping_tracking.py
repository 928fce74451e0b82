"""Template filter for courier tracking links: ``{{ courier|tracking_url:number }}`` → URL or None."""

from django import template

from shipping import tracking

register = template.Library()


@register.filter
def tracking_url(courier, tracking_number):
    return tracking.tracking_url(courier, tracking_number)


@register.inclusion_tag("shipping/_tracking.html")
def tracking_link(courier, tracking_number):
    """Courier and tracking number, the number a link to the courier's tracking page when one is known."""
    return {
        "courier": courier,
        "number": tracking_number,
        "url": tracking.tracking_url(courier, tracking_number),
    }
