from django.urls import path

from reports import apis, mlbom_apis
from reports.report_apis import report_urlpatterns

urlpatterns = [
    path("frameworks/", apis.FrameworkListApi.as_view(), name="frameworks"),
    path("frameworks/<slug:framework>/", apis.FrameworkDetailApi.as_view(), name="framework"),
    path("models/<slug:name>/versions/<str:version>/checklists/", apis.ChecklistListApi.as_view(), name="checklists"),
    path(
        "models/<slug:name>/versions/<str:version>/checklists/<slug:framework>/",
        apis.ChecklistDetailApi.as_view(),
        name="checklist",
    ),
    path(
        "models/<slug:name>/versions/<str:version>/attestations/",
        apis.AttestationListAnswerApi.as_view(),
        name="attestations",
    ),
    path("models/<slug:name>/versions/<str:version>/ml-bom/", mlbom_apis.ModelVersionBomApi.as_view(), name="ml-bom"),
    *report_urlpatterns,
]
