"""The API docs page (Swagger UI from the vendored sidecar assets), with no inline code so that it runs under
the site's Content-Security-Policy."""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    """drf-spectacular's split view: the page loads its init script from this same URL (``?script``) instead
    of inlining it, and our template takes the page's few styles from a static file instead of a <style>."""

    template_name = "lims/api_docs.html"
