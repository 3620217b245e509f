from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from governance import apis, views

admin.site.site_header = f"{settings.PRODUCT_NAME} — model governance"
admin.site.site_title = settings.PRODUCT_NAME
admin.site.index_title = "Registry, approvals and audit trail"
admin.site.login_template = "governance/login.html"

api_v1 = [
    path("", include("accounts.urls")),
    path("audit/", include("audits.urls")),
    path("", include("evidence.urls")),
    path("", include("monitoring.urls")),
    path("", include("registry.urls")),
    path("", include("approvals.urls")),
    path("", include("reports.urls")),
]

urlpatterns = [
    path("", views.landing, name="home"),
    path("healthz", apis.healthz, name="healthz"),
    path("readyz", apis.ReadinessApi.as_view(), name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", apis.SwaggerUiView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    # MLflow's registry REST API, where MLflow's client looks for it (its registry URI is this service).
    path("api/2.0/mlflow/", include(("mlflow_api.urls", "mlflow"), namespace="mlflow")),
    path(
        "api/2.0/mlflow-artifacts/",
        include(("mlflow_api.artifact_urls", "mlflow-artifacts"), namespace="mlflow-artifacts"),
    ),
]

# People get pages in the admin's look; paths under /api/ keep the API's JSON error shape.
handler400 = views.error_view(400)
handler403 = views.error_view(403)
handler404 = views.error_view(404)
handler500 = views.server_error
