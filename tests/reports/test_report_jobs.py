"""The report pipeline: requested with its event, rendered once by a worker, stored by digest, re-derived."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from audits.ledger.hashing import canonical
from core.blobs import blob_path
from core.errors import DomainError
from evidence.models import EvidenceJob
from reports import jobs
from reports.models import Report
from reports.render import card_sha256
from tests.reports.card_fixtures import embedded_card, events, evidenced, rendered  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_rendered_report_is_stored_by_digest_with_its_inputs_in_the_trail(rendered, officer):  # noqa: F811
    report = rendered
    data = blob_path(settings.REPORT_ROOT, report.pdf_sha256).read_bytes()
    assert hashlib.sha256(data).hexdigest() == report.pdf_sha256 and len(data) == report.pdf_size
    assert report.inputs_sha256 == card_sha256(report.inputs) == hashlib.sha256(canonical(report.inputs)).hexdigest()
    assert embedded_card(data) == json.loads(canonical(report.inputs))
    assert report.pages >= 5 and report.attempts == 1
    (requested,) = events("report.requested")
    assert requested["actor"] == f"user:{officer.pk}" and requested["data"]["scope"] == "gdpr"
    (done,) = events("report.rendered")
    assert (done["data"]["pdf_sha256"], done["data"]["inputs_sha256"]) == (report.pdf_sha256, report.inputs_sha256)
    assert done["data"]["renderer"]["weasyprint"]
    assert report.inputs["audit"]["newest_seq"] < requested["seq"]  # the card is built as of the request
    assert jobs.report_run(report.pk) is None  # a redelivered message changes nothing
    assert len(events("report.rendered")) == 1


def test_rederiving_from_the_recorded_inputs_matches_and_a_tampered_input_does_not(rendered, auditor):  # noqa: F811
    report = jobs.report_rederive(report=rendered, user=auditor)
    assert (report.rederive_matches, report.rederived_sha256) == (True, rendered.pdf_sha256)
    tampered = {**report.inputs, "intended_use": {"intended": "Anything at all", "out_of_scope": ""}}
    Report.objects.filter(pk=report.pk).update(inputs=tampered)
    report = jobs.report_rederive(report=Report.objects.get(pk=report.pk), user=auditor)
    assert report.rederive_matches is False and report.rederived_sha256 != report.pdf_sha256
    first, second = events("report.rederived")
    assert (first["data"]["match"], second["data"]["match"]) == (True, False)
    assert second["data"]["inputs_match"] is False and second["actor"] == f"user:{auditor.pk}"


def test_a_missing_chart_fails_the_report_visibly(evidenced, officer, django_capture_on_commit_callbacks):  # noqa: F811
    report = jobs.report_request(version=evidenced, scope="gdpr", user=officer)  # not enqueued: on_commit not run
    chart = EvidenceJob.objects.get(kind="bias_audit").result["charts"]["selection_rate"]
    blob_path(settings.EVIDENCE_ROOT, chart).unlink()
    assert jobs.report_run(report.pk) == "failed"
    report.refresh_from_db()
    assert chart in report.error and report.pdf_sha256 == ""
    (failed,) = events("report.failed")
    assert chart in failed["data"]["error"]
    with pytest.raises(DomainError) as refused:
        jobs.report_rederive(report=report, user=officer)
    assert refused.value.status_code == 409


def test_the_sweep_enqueues_lost_reports_and_requeues_those_whose_worker_died(evidenced, officer):  # noqa: F811
    lost = jobs.report_request(version=evidenced, scope="gdpr", user=officer)  # the broker never got it
    assert jobs.report_sweep() == {"requeued_or_failed": 0, "enqueued": 1}
    assert Report.objects.get(pk=lost.pk).status == "succeeded"
    dead = jobs.report_request(version=evidenced, scope="combined", user=officer)
    Report.objects.filter(pk=dead.pk).update(status="running", claimed_at="2000-01-01T00:00:00Z", attempts=1)
    assert jobs.report_sweep()["requeued_or_failed"] == 1
    assert Report.objects.get(pk=dead.pk).status == "succeeded"
    given_up = jobs.report_request(version=evidenced, scope="gdpr", user=officer)
    Report.objects.filter(pk=given_up.pk).update(status="running", claimed_at="2000-01-01T00:00:00Z", attempts=3)
    jobs.report_sweep()
    assert "died 3 times" in Report.objects.get(pk=given_up.pk).error


def test_a_report_whose_worker_still_beats_is_left_with_it_however_old_its_claim(evidenced, officer):  # noqa: F811
    rendering = jobs.report_request(version=evidenced, scope="gdpr", user=officer)
    Report.objects.filter(pk=rendering.pk).update(
        status="running", claimed_at="2000-01-01T00:00:00Z", heartbeat_at=timezone.now(), attempts=1
    )
    assert jobs.report_sweep()["requeued_or_failed"] == 0
    assert Report.objects.get(pk=rendering.pk).status == "running"
    Report.objects.filter(pk=rendering.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=2))
    assert jobs.report_sweep()["requeued_or_failed"] == 1  # silent for two minutes: its worker is gone
    report = Report.objects.get(pk=rendering.pk)
    assert (report.status, report.attempts) == ("succeeded", 2)
    assert report.heartbeat_at >= report.claimed_at


def test_the_scope_must_be_a_framework_that_applies_or_combined(evidenced, officer):  # noqa: F811
    for scope, problem in (("hipaa", "does not apply"), ("sox", "is not a framework")):
        with pytest.raises(DomainError) as refused:
            jobs.report_request(version=evidenced, scope=scope, user=officer)
        assert problem in refused.value.message and "scope" in refused.value.fields
    assert not Report.objects.exists() and not events("report.requested")


def test_a_download_is_recorded_before_the_bytes_leave(rendered, auditor):  # noqa: F811
    jobs.report_download(report=rendered, user=auditor, via="api")
    (downloaded,) = events("report.downloaded")
    assert downloaded["actor"] == f"user:{auditor.pk}"
    assert (downloaded["data"]["report"], downloaded["data"]["pdf_sha256"]) == (rendered.pk, rendered.pdf_sha256)
