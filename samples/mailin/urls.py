"""The mail-in operator's pages, mounted at /mailin/."""

app_name = "mailin"

urlpatterns = []
