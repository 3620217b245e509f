from django.urls import path

from accounts import apis

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="me"),
    path("me/tokens/", apis.PersonalTokenListCreateApi.as_view(), name="personal-tokens"),
    path("me/tokens/<int:pk>/revoke/", apis.PersonalTokenRevokeApi.as_view(), name="personal-token-revoke"),
    path("service-accounts/", apis.ServiceAccountListCreateApi.as_view(), name="service-accounts"),
    path("service-accounts/<slug:name>/revoke/", apis.ServiceAccountRevokeApi.as_view(), name="service-account-revoke"),
]
