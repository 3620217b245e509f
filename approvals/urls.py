from django.urls import path

from approvals import apis, attestation_apis, waiver_apis

urlpatterns = [
    path(
        "models/<slug:name>/versions/<str:version>/approval-requests/",
        apis.ApprovalRequestSubmitApi.as_view(),
        name="approval-request-submit",
    ),
    path(
        "models/<slug:name>/versions/<str:version>/waivers/", waiver_apis.WaiverListGrantApi.as_view(), name="waivers"
    ),
    path("waivers/<int:pk>/revoke/", waiver_apis.WaiverRevokeApi.as_view(), name="waiver-revoke"),
    path("approval-requests/", apis.ApprovalRequestListApi.as_view(), name="approval-requests"),
    path("approval-requests/<int:pk>/", apis.ApprovalRequestDetailApi.as_view(), name="approval-request"),
    path("approval-requests/<int:pk>/decisions/", apis.ApprovalDecideApi.as_view(), name="approval-decide"),
    path("approval-requests/<int:pk>/withdraw/", apis.ApprovalWithdrawApi.as_view(), name="approval-withdraw"),
    path(
        "approval-requests/<int:pk>/attestation/",
        attestation_apis.ApprovalAttestationApi.as_view(),
        name="approval-attestation",
    ),
    path(
        "attestations/revocations/",
        attestation_apis.AttestationRevocationsApi.as_view(),
        name="attestation-revocations",
    ),
    path("policies/", apis.PolicyListApi.as_view(), name="policies"),
    path("policies/<str:tier>/", apis.PolicyUpdateApi.as_view(), name="policy"),
]
