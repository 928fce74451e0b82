"""The Content-Security-Policy header (django-csp), with the one exception the site needs."""

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (the policy is ``CONTENT_SECURITY_POLICY`` in the settings), letting DRF's
    browsable API pages keep the style="" attributes its templates write (float: right on a few buttons).
    Our own pages, the admin and the API docs need none, so everywhere else an injected style attribute is
    refused too. Scripts are never relaxed."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        renderer = getattr(response, "accepted_renderer", None)  # set on every DRF response
        if renderer is not None and renderer.format == "api":  # the BrowsableAPIRenderer's HTML
            parts.update = {**(parts.update or {}), "style-src-attr": [UNSAFE_INLINE]}
        return parts
