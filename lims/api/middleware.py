"""Once an API answer is written, its Python data goes with the request, not with the next garbage collection.

DRF leaves a response in reference cycles: its ``renderer_context`` holds the response itself and the view, and
the view holds the response (``view.response``) and DRF's request, which holds the view. Nothing but the
garbage collector frees such a cycle, so every answer's data (beamline control's list of 464 samples: thousands
of dicts) outlived its request, and each collector pass over that garbage cost several milliseconds, a tail on
the requests it fell on. The response is rendered before any middleware sees it; from then on the context is
not needed, and dropping it breaks both cycles.
"""


class ReleaseRenderedResponse:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        context = getattr(response, "renderer_context", None)
        if context and getattr(response, "is_rendered", False):
            view = context.get("view")
            if getattr(view, "response", None) is response:
                view.response = None
            response.renderer_context = {}
        return response
