"""Pages of the data: the "Where's my data?" catalogue and a collection's page, mounted at /data/."""

app_name = "data"

urlpatterns = []
