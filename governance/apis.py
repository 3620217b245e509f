"""The project's own views: the health probes and the API docs page."""

from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import CanReadEverything
from governance.health import run_checks


def healthz(request):
    """Liveness, unauthenticated on purpose: load balancers and orchestrators probe it. It answers from the
    process alone (no database, broker or worker is asked), so it is cheap whoever calls it, and it names
    nothing about the deployment. /readyz has the details, for staff."""
    return JsonResponse({"status": "ok"})


class ReadinessApi(APIView):
    """Readiness of every dependency (governance.health.CHECKS), with the reason a failed one gave. The
    reasons can name hosts and ports, so only those who read everything (officers, auditors, superusers)
    see them; each check has a short timeout."""

    permission_classes = [CanReadEverything]
    schema = None  # an operator's probe, not part of the API

    def get(self, request):
        healthy, checks = run_checks()
        failed = [name for name, result in checks.items() if not result["ok"]]
        body = {"status": "ok" if healthy else "unavailable", "failed": failed, "checks": checks}
        return Response(body, status=200 if healthy else 503)


class SwaggerUiView(SpectacularSwaggerView):
    """The API docs for people: a browser without a session is sent to sign in first."""

    permission_classes = [AllowAny]  # the check below redirects instead of answering 401
    schema = None
    template_name = "governance/swagger_ui.html"  # the CSP nonce on its inline script and style

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url="/admin/login/")
        return super().get(request, *args, **kwargs)
