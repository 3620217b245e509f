from django.urls import path

from audits import apis

urlpatterns = [
    path("events/", apis.AuditEventListApi.as_view(), name="audit-events"),
    path("events/<int:seq>/", apis.AuditEventDetailApi.as_view(), name="audit-event"),
    path("verify/", apis.AuditVerifyApi.as_view(), name="audit-verify"),
    path("export/", apis.AuditExportApi.as_view(), name="audit-export"),
    path("checkpoints/", apis.CheckpointListApi.as_view(), name="audit-checkpoints"),
    path("public-key/", apis.PublicKeyApi.as_view(), name="audit-public-key"),
    path("erasures/", apis.PersonEraseApi.as_view(), name="audit-erasures"),
]
