"""A model version with real evidence (an explanation and a bias audit computed by the workers), and helpers
to read the PDFs the reports produce."""

import io
import json

import pytest
from django.urls import reverse
from pypdf import PdfReader

from evidence.models import EvidenceJob
from registry.models import ModelVersion


def run_evidence(client, capture, version: ModelVersion, kind: str) -> EvidenceJob:
    url = reverse("v1:evidence-request", args=[version.model.name, version.version])
    with capture(execute=True):
        response = client.post(url, {"kind": kind, "dataset": version.evaluation_dataset_id}, format="json")
    assert response.status_code == 202, response.json()
    job = EvidenceJob.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.error
    return job


@pytest.fixture
def evidenced(registered, ci_client, django_capture_on_commit_callbacks, settings):
    """credit-scoring 1.0.0 (GDPR, personal data) with its explanation and bias audit run on its evaluation data
    (fewer LIME rows and bootstrap resamples than a deployment uses, to keep the suite quick)."""
    settings.EXPLAIN_LIME_ROWS, settings.BIAS_BOOTSTRAP_RESAMPLES = 5, 200
    version = ModelVersion.objects.select_related("model", "artifact").get(
        model__name="credit-scoring", version="1.0.0"
    )
    for kind in ("explanation", "bias_audit"):
        run_evidence(ci_client, django_capture_on_commit_callbacks, version, kind)
    return version


def pdf_reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def embedded_card(data: bytes) -> dict:
    attachments = pdf_reader(data).attachments
    # A report's card carries the version's ML-BOM beside it (reports.mlbom); a card built by hand has none.
    assert set(attachments) - {"ml-bom.cdx.json"} == {"model-card.json"}
    (body,) = attachments["model-card.json"]
    return json.loads(body)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pdf_reader(data).pages)


@pytest.fixture
def rendered(evidenced, officer, django_capture_on_commit_callbacks):
    """A GDPR report of credit-scoring 1.0.0, requested by an officer and rendered in-process."""
    from reports.jobs import report_request

    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(version=evidenced, scope="gdpr", user=officer)
    report.refresh_from_db()
    assert report.status == "succeeded", report.error
    return report


def events(action: str) -> list[dict]:
    from audits.models import AuditEvent

    return [json.loads(bytes(body)) for body in AuditEvent.objects.filter(action=action).values_list("body", flat=True)]
