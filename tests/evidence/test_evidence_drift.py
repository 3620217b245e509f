"""Drift checks end to end: a reference fixed at registration, a shifted production sample, the alert."""

import json

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse

from audits.models import AuditEvent
from evidence.models import EvidenceJob
from registry.models import ModelVersion
from tests.registry_fixtures import csv_upload, register_model, register_version

pytestmark = pytest.mark.django_db
SCHEMA = {"features": ["income", "debt_ratio", "region"], "task": "regression"}


def _frame(n, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50 + shift * 15, 15, n).round(2),
            "debt_ratio": rng.uniform(0, 1, n),
            "region": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def _dataset(client, frame, kind):
    body = {"file": csv_upload(frame), "name": f"{kind}-data", "kind": kind, "schema": json.dumps(SCHEMA)}
    response = client.post(reverse("v1:datasets"), body, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def version(ci_client, model_bytes):
    register_model(ci_client)
    assert register_version(ci_client, model_bytes).status_code == 201
    return ModelVersion.objects.get(version="1.0.0")


def _check(client, reference, sample):
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    response = client.post(
        url, {"kind": "drift_check", "dataset": sample["id"], "reference": reference["id"]}, format="json"
    )
    assert response.status_code == 202, response.json()
    return EvidenceJob.objects.get(pk=response.json()["id"])


def test_a_reference_is_profiled_when_registered(ci_client):
    reference = _dataset(ci_client, _frame(3000), "reference")
    assert len(reference["profile"]["drift_reference_sha256"]) == 64
    evaluation = _dataset(ci_client, _frame(100), "evaluation")
    assert "drift_reference_sha256" not in evaluation["profile"]


def test_a_stable_sample_passes(ci_client, version, django_capture_on_commit_callbacks):
    reference = _dataset(ci_client, _frame(5000), "reference")
    sample = _dataset(ci_client, _frame(5000, seed=1), "production_sample")
    with django_capture_on_commit_callbacks(execute=True):
        job = _check(ci_client, reference, sample)
    job.refresh_from_db()
    assert (job.status, job.verdict) == ("succeeded", "stable"), job.error
    assert job.progress_done == job.progress_total == 5000
    assert not ModelVersion.objects.get(pk=version.pk).review_required


def test_a_shifted_production_sample_alerts_and_asks_for_review(ci_client, version, django_capture_on_commit_callbacks):
    ModelVersion.objects.filter(pk=version.pk).update(stage="production")
    reference = _dataset(ci_client, _frame(5000), "reference")
    sample = _dataset(ci_client, _frame(5000, shift=0.5, seed=1), "production_sample")
    with django_capture_on_commit_callbacks(execute=True):
        job = _check(ci_client, reference, sample)
    job.refresh_from_db()
    assert job.verdict == "drift"
    assert "income" in job.result["drifted_features"]
    assert ModelVersion.objects.get(pk=version.pk).review_required
    actions = [json.loads(bytes(b))["action"] for b in AuditEvent.objects.values_list("body", flat=True)]
    assert actions[-3:] == ["evidence.completed", "drift.alert", "approval.requested"]  # the re-review


def test_a_small_sample_gets_no_verdict(ci_client, version, django_capture_on_commit_callbacks):
    reference = _dataset(ci_client, _frame(5000), "reference")
    sample = _dataset(ci_client, _frame(100, shift=0.5), "production_sample")
    with django_capture_on_commit_callbacks(execute=True):
        job = _check(ci_client, reference, sample)
    job.refresh_from_db()
    assert job.verdict == "inconclusive"


def test_a_reference_that_was_not_registered_as_one_fails_the_job(
    ci_client, version, django_capture_on_commit_callbacks
):
    evaluation = _dataset(ci_client, _frame(2000), "evaluation")
    sample = _dataset(ci_client, _frame(2000), "production_sample")
    with django_capture_on_commit_callbacks(execute=True):
        job = _check(ci_client, evaluation, sample)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "not registered as a reference" in job.error


def test_asking_twice_reuses_the_job(ci_client, version, django_capture_on_commit_callbacks):
    reference = _dataset(ci_client, _frame(2000), "reference")
    sample = _dataset(ci_client, _frame(2000), "production_sample")
    with django_capture_on_commit_callbacks(execute=True):
        first = _check(ci_client, reference, sample)
    second = _check(ci_client, reference, sample)
    assert first.pk == second.pk
    assert EvidenceJob.objects.count() == 1


def test_a_drift_check_needs_a_reference(ci_client, version):
    sample = _dataset(ci_client, _frame(200), "production_sample")
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    response = ci_client.post(url, {"kind": "drift_check", "dataset": sample["id"]}, format="json")
    assert response.status_code == 400
    assert "reference" in response.json()["error"]["fields"]
