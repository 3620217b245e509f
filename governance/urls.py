from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from core.errors import json_error_view
from governance import apis

admin.site.site_header = f"{settings.PRODUCT_NAME} — model governance"
admin.site.site_title = settings.PRODUCT_NAME
admin.site.index_title = "Registry, approvals and audit trail"

api_v1 = [
    path("", include("accounts.urls")),
    path("audit/", include("audits.urls")),
    path("", include("evidence.urls")),
    path("", include("registry.urls")),
    path("", include("approvals.urls")),
    path("", include("reports.urls")),
]

urlpatterns = [
    path("healthz", apis.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", apis.SwaggerUiView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
]

handler400 = json_error_view(400, "bad_request", "Bad request.")
handler403 = json_error_view(403, "permission_denied", "Forbidden.")
handler404 = json_error_view(404, "not_found", "Not found.")
handler500 = json_error_view(500, "server_error", "Internal server error.")
