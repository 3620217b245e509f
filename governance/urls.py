from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from audits import evidence_apis
from governance import apis
from governance.errors import json_error_view

admin.site.site_header = f"{settings.PRODUCT_NAME} — model governance"
admin.site.site_title = settings.PRODUCT_NAME
admin.site.index_title = "Registry, approvals and audit trail"

api_v1 = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("service-accounts/", apis.ServiceAccountListCreateApi.as_view(), name="service-accounts"),
    path("service-accounts/<slug:name>/revoke/", apis.ServiceAccountRevokeApi.as_view(), name="service-account-revoke"),
    path("audit/", include("audits.urls")),
    path("evidence/jobs/", evidence_apis.EvidenceJobListApi.as_view(), name="evidence-jobs"),
    path("evidence/jobs/<int:pk>/", evidence_apis.EvidenceJobDetailApi.as_view(), name="evidence-job"),
    path(
        "evidence/jobs/<int:pk>/charts/<slug:chart>/", evidence_apis.EvidenceChartApi.as_view(), name="evidence-chart"
    ),
    path(
        "models/<slug:name>/versions/<str:version>/evidence/",
        evidence_apis.EvidenceJobRequestApi.as_view(),
        name="evidence-request",
    ),
    path("", include("registry.urls")),
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
