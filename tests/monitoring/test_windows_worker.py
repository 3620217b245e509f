"""A production window of the COMPAS records runs on a real Celery worker over the broker, on PostgreSQL."""

import io
import time
from datetime import UTC, datetime

import pytest
import skops.io
from django.core.files import File

from core import roles
from monitoring.models import ProductionWindow
from monitoring.services import production_window_upload
from registry.services import dataset_register, model_register, model_version_register
from tests.conftest import running_worker
from tests.factories import UserFactory
from tests.monitoring.test_windows import FEATURES, SCHEMA, _window_rows, compas, model  # noqa: F401

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _csv(frame, name: str) -> File:
    return File(io.BytesIO(frame.to_csv(index=False).encode()), name=name)


def test_a_shifted_window_is_checked_by_a_worker_exactly_once(compas, model):  # noqa: F811
    user = UserFactory(username="ci-worker", roles=[roles.DATA_SCIENTIST])  # in the personas' team
    registered = model_register(user=user, name="compas-worker", risk_tier="high")
    evaluation = dataset_register(
        user=user, name="compas-2013", kind="evaluation", upload=_csv(compas.iloc[:3600], "e.csv"), schema=SCHEMA
    )
    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    buffer.seek(0)
    version, _ = model_version_register(
        user=user,
        model=registered,
        version="1.0.0",
        upload=File(buffer, name="m.skops"),
        metadata={},
        sample_dataset=evaluation,
    )
    shifted = compas.iloc[3600:].assign(priors_count=lambda f: f.priors_count * 3 + 2)
    with running_worker():  # started here: it stores and reads under this test's storage folder
        window, created = production_window_upload(
            user=user,
            version=version,
            upload=_csv(_window_rows(model, shifted, labelled=False), "w.csv"),
            window_start=datetime(2026, 11, 1, tzinfo=UTC),
            window_end=datetime(2026, 11, 8, tzinfo=UTC),
        )
        assert created
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            window.refresh_from_db()
            if window.status in ("succeeded", "failed"):
                break
            time.sleep(0.5)
    assert window.status == "succeeded", window.error
    assert window.attempts == 1
    assert "feature_drift" in {alert["monitor"] for alert in window.result["alerts"]}
    assert window.result["monitors"]["feature_drift"]["features"]["priors_count"]["status"] == "drift"
    assert ProductionWindow.objects.filter(version=version).count() == 1
