from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .identity import oidc

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    # Django's LogoutView only accepts POST: a link cannot sign anyone out.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # OpenID Connect (lims.identity.oidc): 404 unless OIDC_ISSUER is set. The provider's redirect URI for this
    # client is <site>/oidc/callback/; mozilla-django-oidc reverses these two names.
    path("oidc/authenticate/", oidc.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("account/tokens/", views.api_tokens, name="api_tokens"),
    path("proposals/<int:proposal_id>/contacts/", views.lab_contact_list, name="lab_contact_list"),
    path("proposals/<int:proposal_id>/contacts/new/", views.lab_contact_create, name="lab_contact_create"),
    path("contacts/<int:pk>/edit/", views.lab_contact_edit, name="lab_contact_edit"),
    path("barcodes/decode/", views.barcode_decode, name="barcode_decode"),
]
