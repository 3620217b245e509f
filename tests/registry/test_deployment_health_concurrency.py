"""Health reports of one deployment arriving at once take turns: one response to a breach, no overlap stored."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from audits.models import AuditEvent
from core import roles
from core.errors import DomainError
from registry.deployment_health import deployment_health_report
from registry.models import Deployment, DeploymentHealthReport
from registry.stages import deployment_report
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
START = timezone.now().replace(microsecond=0) - timedelta(hours=1)


def _at_once(deployment: Deployment, user, minutes: list[int]) -> list[Exception]:
    barrier, errors = threading.Barrier(len(minutes)), []

    def report(minute: int):
        try:
            barrier.wait()
            start = START + timedelta(minutes=minute)
            deployment_health_report(
                deployment=deployment,
                user=user,
                window_start=start,
                window_end=start + timedelta(minutes=5),
                requests=500,
                errors=100,
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report, args=(minute,)) for minute in minutes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.fixture
def deployment(registered):
    from registry.models import ModelVersion

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    version = ModelVersion.objects.select_related("model", "artifact").get()
    threshold = {"metric": "error_rate", "above": 0.02, "min_requests": 100}
    return deployment_report(
        version=version,
        user=version.submitted_by,
        environment="dev",
        strategy="canary",
        traffic_percent=5,
        rollback_threshold=threshold,
    )


def test_breaches_reported_at_once_get_one_response(deployment):
    reporter = UserFactory(username="serving", roles=[roles.CI])  # of the model's team
    assert _at_once(deployment, reporter, [0, 5, 10, 15]) == []
    reports = DeploymentHealthReport.objects.filter(deployment=deployment)
    assert reports.count() == 4 and all(r.breached for r in reports)
    assert reports.exclude(response="").count() == 1
    assert AuditEvent.objects.filter(action="deployment.rollback_recommended").count() == 1


def test_overlapping_windows_reported_at_once_store_one(deployment):
    reporter = UserFactory(username="serving", roles=[roles.CI])  # of the model's team
    errors = _at_once(deployment, reporter, [0, 2])
    assert len(errors) == 1 and isinstance(errors[0], DomainError) and errors[0].code == "overlapping_window"
    assert DeploymentHealthReport.objects.filter(deployment=deployment).count() == 1
