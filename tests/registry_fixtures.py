"""Shared by registry and evidence tests: synthetic applicants, a skops model trained on them, API helpers."""

import json

import numpy as np
import pandas as pd
import pytest
import skops.io
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from sklearn.linear_model import LogisticRegression

from core import roles
from registry.models import ApprovalPolicy
from tests.factories import UserFactory

FEATURES = ["income", "debt_ratio", "age"]
SCHEMA = {
    "features": FEATURES,
    "target": "default",
    "positive_label": 1,
    "task": "binary_classification",
    "sensitive_features": ["sex"],
}


@pytest.fixture(scope="session")
def applicants() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {
            "income": rng.normal(50, 15, n).round(2),
            "debt_ratio": rng.uniform(0, 1, n).round(3),
            "age": rng.integers(18, 80, n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    frame["default"] = ((frame.debt_ratio * 2 - frame.income / 50 + rng.normal(0, 0.3, n)) > 0.3).astype(int)
    return frame


@pytest.fixture(scope="session")
def model_bytes(applicants, tmp_path_factory) -> bytes:
    model = LogisticRegression(max_iter=200).fit(applicants[FEATURES], applicants["default"])
    path = tmp_path_factory.mktemp("model") / "model.skops"
    skops.io.dump(model, path)
    return path.read_bytes()


@pytest.fixture(scope="session")
def other_model_bytes(applicants, tmp_path_factory) -> bytes:
    model = LogisticRegression(max_iter=200, C=0.01).fit(applicants[FEATURES], applicants["default"])
    path = tmp_path_factory.mktemp("model2") / "model.skops"
    skops.io.dump(model, path)
    return path.read_bytes()


@pytest.fixture
def officer2(db):
    return UserFactory(username="officer2", roles=[roles.COMPLIANCE_OFFICER], is_staff=True)


@pytest.fixture
def no_evidence_policy(db):
    """Until the evidence jobs exist, a policy that names no evidence lets a request be approved."""
    ApprovalPolicy.objects.update(
        requires_explanation=False,
        requires_bias_audit=False,
        requires_model_cards=False,
        requires_drift_check_for_reapproval=False,
    )


@pytest.fixture
def bias_only_policy(db):
    """A policy that asks for the bias audit alone, decided by one officer."""
    ApprovalPolicy.objects.update(
        requires_explanation=False,
        requires_bias_audit=True,
        requires_model_cards=False,
        requires_drift_check_for_reapproval=False,
        approvals_required=1,
        officer_approvals_required=1,
    )


def csv_upload(frame: pd.DataFrame, name="data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, frame.to_csv(index=False).encode(), content_type="text/csv")


def register_model(client, name="credit-scoring", tier="medium", **extra):
    body = {"name": name, "risk_tier": tier, "frameworks": ["GDPR"], "data_classification": ["personal_data"], **extra}
    return client.post(reverse("v1:models"), body, format="json")


def register_version(client, payload: bytes, version="1.0.0", name="credit-scoring", headers=None, **metadata):
    upload = SimpleUploadedFile("model.skops", payload, content_type="application/octet-stream")
    body = {"artifact": upload, "metadata": json.dumps({"version": version, **metadata})}
    return client.post(reverse("v1:model-versions", args=[name]), body, format="multipart", headers=headers or {})


def register_dataset(client, frame, schema=None, **extra):
    body = {
        "file": csv_upload(frame),
        "name": "applicants-2026q3",
        "kind": "evaluation",
        "schema": json.dumps(schema or SCHEMA),
        **extra,
    }
    return client.post(reverse("v1:datasets"), body, format="multipart")


def decide(client, request_id, verdict="approve"):
    return client.post(reverse("v1:approval-decide", args=[request_id]), {"verdict": verdict}, format="json")


def request_approval(client, version="1.0.0", stage="production"):
    url = reverse("v1:approval-request-submit", args=["credit-scoring", version])
    return client.post(url, {"target_stage": stage, "justification": "Quarterly retrain"}, format="json")


@pytest.fixture
def registered(ci_client, applicants, model_bytes):
    assert register_model(ci_client).status_code == 201
    dataset = register_dataset(ci_client, applicants)
    assert dataset.status_code == 201, dataset.json()
    version = register_version(
        ci_client,
        model_bytes,
        sample_dataset=dataset.json()["id"],
        lineage={"code_commit": "a1b2c3d", "pipeline": "github-actions"},
    )
    assert version.status_code == 201, version.json()
    return version.json()


@pytest.fixture
def approved(registered, ci_client, client_as, officer, officer2, no_evidence_policy):
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).status_code == 201
    return request_id


def finished_bias_audit(version, verdict: str = "fail"):
    """A bias audit that ran on the version's current artifact and found what it found: the evidence a
    waiver answers (a waiver before any audit finished is refused)."""
    from django.utils import timezone

    from evidence.models import EvidenceJob
    from registry.models import Dataset

    return EvidenceJob.objects.create(
        kind=EvidenceJob.Kind.BIAS_AUDIT,
        version=version,
        dataset=Dataset.objects.filter(model__isnull=True).first() or Dataset.objects.first(),
        params={},
        status=EvidenceJob.Status.SUCCEEDED,
        artifact_sha256=version.artifact.sha256 if version.artifact_id else "",
        dataset_sha256="d" * 64,
        result={},
        result_sha256="r" * 64,
        verdict=verdict,
        requested_by="system",
        finished_at=timezone.now(),
    )


@pytest.fixture
def audited(registered):
    """`registered`, with a bias audit of version 1.0.0 that finished and failed."""
    from registry.models import ModelVersion

    finished_bias_audit(ModelVersion.objects.get(model__name="credit-scoring", version="1.0.0"))
    return registered
