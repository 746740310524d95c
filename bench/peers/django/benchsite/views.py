"""The protected resource of load (b): any valid access token, answered with a small JSON."""
from django.http import JsonResponse
from oauth2_provider.views.generic import ProtectedResourceView


class Ping(ProtectedResourceView):
    def get(self, request, *args, **kwargs):
        return JsonResponse({"success": True, "message": "pong"})
