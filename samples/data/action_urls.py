"""Pages that act on collections afterwards (flags, tags, moves) and the download cart, mounted at /data/."""

app_name = "data_actions"

urlpatterns = []
