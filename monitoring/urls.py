from django.urls import path

from monitoring import apis

urlpatterns = [
    path(
        "models/<slug:name>/versions/<str:version>/monitoring/windows/",
        apis.WindowListUploadApi.as_view(),
        name="monitoring-windows",
    ),
    path("monitoring/windows/<int:pk>/", apis.WindowDetailApi.as_view(), name="monitoring-window"),
    path("monitoring/policies/", apis.PolicyListApi.as_view(), name="monitoring-policies"),
]
