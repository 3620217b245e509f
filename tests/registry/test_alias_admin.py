"""The MLflow aliases in the admin: officers and auditors read which version each name resolves to; no one adds,
changes or deletes one there (the MLflow API does, audited)."""

import pytest
from django.urls import reverse

from core import roles
from registry.aliases import model_alias_set
from registry.models import ModelVersion
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:registry_modelalias_changelist"


def test_readers_see_each_alias_with_its_version_and_stage(client, registered, ci_account, officer, auditor):
    version = ModelVersion.objects.select_related("model").get(version="1.0.0")
    alias = model_alias_set(model=version.model, alias="challenger", version=version, user=ci_account.user)
    for reader in (officer, auditor):
        client.force_login(reader)
        page = client.get(reverse(CHANGELIST))
        assert page.status_code == 200
        html = page.content.decode()
        assert "challenger" in html and "credit-scoring" in html and '<td class="field-stage">none</td>' in html
        assert client.get(reverse("admin:registry_modelalias_change", args=[alias.pk])).status_code == 200
        assert client.get(reverse("admin:registry_modelalias_add")).status_code == 403


def test_others_do_not_see_the_aliases(client, registered):
    scientist = UserFactory(username="alias-scientist", roles=[roles.DATA_SCIENTIST], is_staff=True)
    client.force_login(scientist)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert reverse(CHANGELIST) not in client.get(reverse("admin:index")).content.decode()
