from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Page-number pagination; clients may ask for up to 500 items a page.

    The first page is read with one row more than it holds: when that row is not there, the page is the whole
    list and its count is known without counting (beamline control polls lists that fit one page: a changer's
    464 samples); when it is, the list is counted as usual. Other pages are DRF's own.
    """

    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        size = self.get_page_size(request)
        if not size or request.query_params.get(self.page_query_param, "1") != "1":
            return super().paginate_queryset(queryset, request, view)
        rows = list(queryset[: size + 1])
        paginator = DjangoPaginator(rows if len(rows) <= size else queryset, size)
        self.page = Page(rows[:size], 1, paginator)
        self.request = request
        if len(rows) > size and self.template is not None:
            self.display_page_controls = True  # the browsable API's controls, as DRF's own
        return self.page.object_list
