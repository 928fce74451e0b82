from django.urls import path

from . import views

app_name = "shipping"

urlpatterns = [
    path("new/<int:proposal_id>/", views.shipment_create, name="create"),
    path("<int:pk>/", views.shipment_page, name="detail"),
    path("<int:pk>/edit/", views.shipment_edit, name="edit"),
    path("<int:pk>/send/", views.shipment_send, name="send"),
    path("<int:pk>/cancel/", views.shipment_cancel, name="cancel"),
    path("<int:pk>/import/", views.sheet_import, name="sheet_import"),
    path("<int:pk>/samples.<str:fmt>", views.sheet_export, name="sheet_export"),
    path("sample-sheet-template.<str:fmt>", views.sheet_template, name="sheet_template"),
    path("<int:pk>/labels/<str:kind>/", views.shipment_labels, name="labels"),
    path("locations/labels/", views.location_labels, name="location_labels"),
    path("dewars/<int:pk>/", views.dewar_page, name="dewar"),
    path("where/", views.where_is_my_dewar, name="where"),
    path("<int:pk>/transport-history.pdf", views.transport_pdf, name="transport_pdf"),
]
