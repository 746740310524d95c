"""The toolkit's endpoints under /o/ (token, introspect, ...) and one protected GET."""
from django.urls import include, path

from . import views

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/ping", views.Ping.as_view()),
]
