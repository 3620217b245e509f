"""The project's own views: the health probe and the API docs page."""

from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from governance.health import run_checks


def healthz(request):
    """Unauthenticated on purpose: load balancers and orchestrators probe it. It shows no data."""
    healthy, checks = run_checks()
    failed = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "ok" if healthy else "unavailable", "failed": failed, "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)


class SwaggerUiView(SpectacularSwaggerView):
    """The API docs for people: a browser without a session is sent to sign in first."""

    permission_classes = [AllowAny]  # the check below redirects instead of answering 401
    schema = None

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url="/admin/login/")
        return super().get(request, *args, **kwargs)
