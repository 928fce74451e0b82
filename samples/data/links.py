"""Links made many times on one page, with the URL resolver walked once."""

from django.urls import reverse


def url_maker(name: str):
    """``pk -> reverse(name, args=[pk])`` with the resolver walked once (a page has a hundred such links)."""
    marker = 918273645
    head, _, tail = reverse(name, args=[marker]).partition(str(marker))
    return lambda pk: f"{head}{pk}{tail}"
