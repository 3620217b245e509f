from django.urls import path

from evidence import apis

urlpatterns = [
    path("evidence/jobs/", apis.EvidenceJobListApi.as_view(), name="evidence-jobs"),
    path("evidence/jobs/<int:pk>/", apis.EvidenceJobDetailApi.as_view(), name="evidence-job"),
    path("evidence/jobs/<int:pk>/charts/<slug:chart>/", apis.EvidenceChartApi.as_view(), name="evidence-chart"),
    path(
        "models/<slug:name>/versions/<str:version>/evidence/",
        apis.EvidenceJobRequestApi.as_view(),
        name="evidence-request",
    ),
]
