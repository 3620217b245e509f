from django.urls import path

from registry import apis, deployment_apis, webhook_apis

urlpatterns = [
    path("models/", apis.ModelListRegisterApi.as_view(), name="models"),
    path("models/<slug:name>/", apis.ModelDetailApi.as_view(), name="model"),
    path("models/<slug:name>/rollback/", apis.RollbackApi.as_view(), name="model-rollback"),
    path("models/<slug:name>/versions/", apis.ModelVersionListRegisterApi.as_view(), name="model-versions"),
    path("models/<slug:name>/versions/import/", apis.ModelVersionImportApi.as_view(), name="model-version-import"),
    path("models/<slug:name>/versions/<str:version>/", apis.ModelVersionDetailApi.as_view(), name="model-version"),
    path("models/<slug:name>/versions/<str:version>/stage/", apis.StageChangeApi.as_view(), name="stage-change"),
    path(
        "models/<slug:name>/versions/<str:version>/deployments/", apis.DeploymentReportApi.as_view(), name="deployments"
    ),
    path("models/<slug:name>/versions/<str:version>/gate/", apis.GateApi.as_view(), name="gate"),
    path("deployments/<int:pk>/", deployment_apis.DeploymentDetailApi.as_view(), name="deployment"),
    path("deployments/<int:pk>/health/", deployment_apis.DeploymentHealthApi.as_view(), name="deployment-health"),
    path("datasets/", apis.DatasetListRegisterApi.as_view(), name="datasets"),
    path("datasets/<int:pk>/", apis.DatasetDetailApi.as_view(), name="dataset"),
    path("webhooks/", webhook_apis.WebhookListCreateApi.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/deactivate/", webhook_apis.WebhookDeactivateApi.as_view(), name="webhook-deactivate"),
    path("webhooks/<int:pk>/deliveries/", webhook_apis.WebhookDeliveriesApi.as_view(), name="webhook-deliveries"),
]
