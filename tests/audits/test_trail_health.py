"""/readyz and the trail's admin pages say clearly when the trail does not verify: the periodic job's last
verdict, recorded beside the high-water mark, and a cheap check of the head."""

import pytest
from django.test import override_settings
from django.urls import reverse

from audits.highwater import state_path
from audits.models import AuditEvent
from audits.selectors import audit_trail_health
from audits.services import ChainBroken, audit_event_append, checkpoint_create
from core import roles
from tests.evidence.helpers import as_db_superuser, record, rewrite
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["/admin/audits/auditevent/", "/admin/audits/checkpoint/", "/admin/audits/auditevent/2/change/"]


def _append(n: int) -> None:
    for index in range(n):
        audit_event_append(actor="system", action="test.event", data={"index": index})


def _readyz(client) -> tuple[int, dict]:
    """Readiness, as an auditor reads it (its reasons are for those who read everything)."""
    client.force_login(UserFactory(username="trail-reader", roles=[roles.AUDITOR], is_staff=True))
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        response = client.get(reverse("readyz"))
    return response.status_code, response.json()


def test_a_sound_trail_is_healthy(client):
    _append(3)
    assert audit_trail_health().ok
    checkpoint_create()
    status, body = _readyz(client)
    assert status == 200 and body["checks"]["trail"]["ok"] is True
    assert body["checks"]["trail"]["status"].startswith("verified 3 events at ")


def test_an_edit_deep_in_the_trail_shows_once_the_periodic_job_has_verified(client):
    _append(5)
    checkpoint_create()
    as_db_superuser("UPDATE audits_auditevent SET actor = 'user:666' WHERE seq = 2")
    assert audit_trail_health().ok  # the cheap check reads the head only; the job reads everything
    with pytest.raises(ChainBroken):
        checkpoint_create()
    status, body = _readyz(client)
    assert status == 503 and "trail" in body["failed"]
    assert "does not verify" in body["checks"]["trail"]["status"]
    assert "seq 2" in body["checks"]["trail"]["status"] and "actor" in body["checks"]["trail"]["status"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda: as_db_superuser("UPDATE audits_auditevent SET action = 'x.y' WHERE seq = 3"), id="column"),
        pytest.param(lambda: rewrite(3, {**record(3), "data": {"index": 9}}, rehash=False), id="body"),
        pytest.param(lambda: as_db_superuser("DELETE FROM audits_auditevent WHERE seq = 2"), id="gap-before-head"),
    ],
)
def test_a_broken_head_shows_at_once(client, tamper):
    _append(3)
    tamper()
    health = audit_trail_health()
    assert not health.ok and "does not verify" in health.summary
    assert _readyz(client)[0] == 503


def test_a_cut_tail_shows_at_once_against_the_high_water_mark(client):
    _append(5)
    checkpoint_create()
    as_db_superuser("DELETE FROM audits_checkpoint")
    as_db_superuser("DELETE FROM audits_auditevent WHERE seq > 3")
    health = audit_trail_health()
    assert not health.ok and "5 were signed: its tail was cut" in health.summary
    status, body = _readyz(client)
    assert status == 503 and body["failed"] == ["trail"]


def test_a_replaced_history_shows_against_the_high_water_mark():
    _append(3)
    checkpoint_create()
    as_db_superuser("DELETE FROM audits_checkpoint")
    as_db_superuser("DELETE FROM audits_auditevent WHERE seq > 1")
    _append(3)
    health = audit_trail_health()
    assert not health.ok and "event 3 is not the one signed" in health.summary


def test_a_damaged_high_water_file_is_unhealthy():
    _append(1)
    checkpoint_create()
    state_path().write_text("[]")
    health = audit_trail_health()
    assert not health.ok and "is damaged" in health.summary


@pytest.mark.parametrize("page", PAGES)
def test_the_trail_admin_pages_carry_a_banner_while_the_trail_does_not_verify(client, auditor, page):
    _append(3)
    checkpoint_create()
    client.force_login(auditor)
    assert "does NOT verify" not in client.get(page).content.decode()
    as_db_superuser("UPDATE audits_auditevent SET object_ref = 'registry.model:7' WHERE seq = 3")
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error"' in html and "The audit trail does NOT verify" in html and "object_ref" in html
    assert AuditEvent.objects.count() == 3
