"""Production windows of the ProPublica COMPAS records, posted over the API against a model in production: an
unshifted window raises nothing; windows shifted on purpose raise the alert their shift is for, with its
audit events, webhooks, re-review and retraining request; bad uploads are refused naming the problem."""

import io
import json

import pandas as pd
import pytest
import skops.io
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from sklearn.linear_model import LogisticRegression

from approvals.dashboard import versions_under_review
from audits.models import AuditEvent
from monitoring.models import ProductionWindow
from registry.models import ApprovalRequest, ModelVersion, WebhookDelivery, WebhookSubscription
from tests.evidence.test_evidence_bias import _compas_path
from tests.registry_fixtures import csv_upload, decide, register_model

pytestmark = pytest.mark.django_db
FEATURES = ["age", "priors_count", "juv_fel_count", "juv_misd_count"]
SCHEMA = {"features": FEATURES, "target": "two_year_recid", "positive_label": 1, "task": "binary_classification"}
START, END = "2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    path = _compas_path()
    if path is None:
        pytest.skip("the public COMPAS file is not beside the project")
    frame = pd.read_csv(path, usecols=[*FEATURES, "two_year_recid"])
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def model(compas):
    """A logistic regression on the first half of the records (the evaluation data)."""
    return LogisticRegression(max_iter=500).fit(compas[FEATURES].iloc[:3600], compas.two_year_recid.iloc[:3600])


def _window_rows(model, frame: pd.DataFrame, *, labelled=True) -> pd.DataFrame:
    rows = frame[FEATURES].copy()
    rows["prediction"] = model.predict(frame[FEATURES])
    rows["score"] = model.predict_proba(frame[FEATURES])[:, 1]
    if labelled:
        rows["two_year_recid"] = frame.two_year_recid.to_numpy()
    return rows


@pytest.fixture
def in_production(compas, model, ci_client, client_as, officer, officer2, no_evidence_policy):
    assert register_model(ci_client, name="compas", tier="medium").status_code == 201
    body = {"file": csv_upload(compas.iloc[:3600]), "name": "compas-2013", "kind": "evaluation"}
    dataset = ci_client.post(reverse("v1:datasets"), {**body, "schema": json.dumps(SCHEMA)}, format="multipart")
    assert dataset.status_code == 201, dataset.json()
    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    upload = SimpleUploadedFile("model.skops", buffer.getvalue())
    metadata = json.dumps({"version": "1.0.0", "sample_dataset": dataset.json()["id"]})
    url = reverse("v1:model-versions", args=["compas"])
    assert ci_client.post(url, {"artifact": upload, "metadata": metadata}, format="multipart").status_code == 201
    submit = reverse("v1:approval-request-submit", args=["compas", "1.0.0"])
    body = {"target_stage": "production", "justification": "First release"}
    request_id = ci_client.post(submit, body, format="json").json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).status_code == 201
    stage = reverse("v1:stage-change", args=["compas", "1.0.0"])
    assert ci_client.post(stage, {"stage": "production"}, format="json").status_code == 200
    return ModelVersion.objects.get(model__name="compas", version="1.0.0")


def _post(client, rows: pd.DataFrame, capture, *, start=START, end=END, **extra):
    url = reverse("v1:monitoring-windows", args=["compas", "1.0.0"])
    body = {"file": csv_upload(rows), "window_start": start, "window_end": end, **extra}
    with capture(execute=True):
        return client.post(url, body, format="multipart")


def _run(client, rows, capture, **extra) -> ProductionWindow:
    response = _post(client, rows, capture, **extra)
    assert response.status_code == 202, response.json()
    window = ProductionWindow.objects.get(pk=response.json()["id"])
    assert window.status == "succeeded", window.error
    return window


def _events(action: str) -> list[dict]:
    return [json.loads(bytes(b)) for b in AuditEvent.objects.filter(action=action).values_list("body", flat=True)]


def test_an_unshifted_window_of_the_held_out_records_raises_nothing(
    in_production, compas, model, ci_client, django_capture_on_commit_callbacks
):
    window = _run(ci_client, _window_rows(model, compas.iloc[3600:]), django_capture_on_commit_callbacks)
    assert window.verdict == "ok", window.result["alerts"]
    assert window.labelled and window.rows == len(compas) - 3600
    monitors = window.result["monitors"]
    assert monitors["feature_drift"]["status"] == "stable"
    assert monitors["prediction_drift"]["status"] == "stable"
    performance = monitors["performance"]
    assert performance["baseline"]["roc_auc"] > 0.6  # the evaluation's own figure, measured on its rows
    assert performance["metrics"]["roc_auc"]["low"] < performance["metrics"]["roc_auc"]["high"]
    assert monitors["estimated_performance"]["estimate"] is True
    assert window.result["reference"]["drift_reference"] == "evaluation dataset"
    assert _events("monitoring.alert") == [] and _events("retraining.requested") == []
    (checked,) = _events("monitoring.window_checked")
    assert checked["data"]["result_sha256"] == window.result_sha256 and checked["data"]["verdict"] == "ok"
    assert not ModelVersion.objects.get(pk=in_production.pk).review_required


def test_older_defendants_alert_drift_fire_webhooks_and_open_the_re_review(
    in_production, compas, model, ci_client, admin_user, django_capture_on_commit_callbacks
):
    WebhookSubscription.objects.create(
        url="http://127.0.0.1:9/hook", event_types=["monitoring.*"], secret="s", created_by=admin_user
    )
    shifted = compas.iloc[3600:].assign(age=lambda f: f.age + 15)  # the same people, fifteen years on
    window = _run(ci_client, _window_rows(model, shifted, labelled=False), django_capture_on_commit_callbacks)
    assert window.verdict == "alert" and not window.labelled
    alerted = {alert["monitor"] for alert in window.result["alerts"]}
    assert {"feature_drift", "prediction_drift"} <= alerted
    assert window.result["monitors"]["feature_drift"]["features"]["age"]["status"] == "drift"
    assert window.result["monitors"]["performance"]["status"] == "no_labels"
    (alert,) = _events("monitoring.alert")
    assert alert["data"]["review_required"] and alert["data"]["window"] == window.pk
    assert AuditEvent.objects.get(action="monitoring.alert").object_ref == f"registry.modelversion:{in_production.pk}"
    assert WebhookDelivery.objects.filter(action="monitoring.alert").count() == 1
    assert ModelVersion.objects.get(pk=in_production.pk).review_required
    rereview = ApprovalRequest.objects.get(version=in_production, status="pending")
    assert rereview.trigger.startswith("monitoring alert (") and f"window {window.pk}" in rereview.trigger
    (under_review,) = versions_under_review()  # the officers' dashboard shows when the alert came
    assert under_review.pk == in_production.pk and under_review.drift_alert_at is not None
    assert _events("retraining.requested") == []  # medium risk retrains on performance, not on drift


def test_outcomes_that_no_longer_follow_the_inputs_alert_concept_drift_and_ask_for_retraining(
    in_production, compas, model, ci_client, admin_user, django_capture_on_commit_callbacks
):
    WebhookSubscription.objects.create(
        url="http://127.0.0.1:9/hook", event_types=["retraining.requested"], secret="s", created_by=admin_user
    )
    held_out = compas.iloc[3600:]
    rows = _window_rows(model, held_out).assign(two_year_recid=1 - held_out.two_year_recid.to_numpy())
    window = _run(ci_client, rows, django_capture_on_commit_callbacks)
    alerted = {alert["monitor"] for alert in window.result["alerts"]}
    assert {"performance", "concept_drift"} <= alerted and "feature_drift" not in alerted
    (retraining,) = _events("retraining.requested")
    assert retraining["data"]["reasons"] == ["performance"] and retraining["data"]["window"] == window.pk
    assert list(WebhookDelivery.objects.values_list("action", flat=True)) == ["retraining.requested"]


def test_labels_arriving_later_come_as_a_new_upload_of_the_window(
    in_production, compas, model, ci_client, django_capture_on_commit_callbacks
):
    held_out = compas.iloc[3600:]
    first = _run(ci_client, _window_rows(model, held_out, labelled=False), django_capture_on_commit_callbacks)
    again = _post(ci_client, _window_rows(model, held_out, labelled=False), django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["id"] == first.pk  # the same bytes: the same window
    parquet = io.BytesIO()
    _window_rows(model, held_out).to_parquet(parquet, index=False)
    upload = SimpleUploadedFile("window.parquet", parquet.getvalue(), content_type="application/octet-stream")
    url = reverse("v1:monitoring-windows", args=["compas", "1.0.0"])
    with django_capture_on_commit_callbacks(execute=True):
        response = ci_client.post(url, {"file": upload, "window_start": START, "window_end": END}, format="multipart")
    assert response.status_code == 202, response.json()
    labelled = ProductionWindow.objects.get(pk=response.json()["id"])
    assert labelled.format == "parquet" and labelled.status == "succeeded", labelled.error
    assert labelled.pk != first.pk and labelled.labelled and not first.labelled
    from monitoring.selectors import windows_current

    assert windows_current(in_production) == [labelled]


def test_a_window_is_validated_against_the_version_s_schema(
    in_production, compas, model, ci_client, django_capture_on_commit_callbacks
):
    rows = _window_rows(model, compas.iloc[3600:]).drop(columns=["priors_count"])
    response = _post(ci_client, rows, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "columns.priors_count" in response.json()["error"]["fields"]
    backwards = _post(
        ci_client, _window_rows(model, compas.iloc[3600:]), django_capture_on_commit_callbacks, start=END, end=START
    )
    assert backwards.status_code == 400 and "window_end" in backwards.json()["error"]["fields"]
    unknown = _post(
        ci_client, _window_rows(model, compas.iloc[3600:]), django_capture_on_commit_callbacks, labels="yes"
    )
    assert unknown.status_code == 400 and "labels" in unknown.json()["error"]["fields"]
    assert not ProductionWindow.objects.exists()


def test_who_may_post_and_read_windows(
    in_production,
    compas,
    model,
    ci_client,
    client_as,
    outsider,
    requester,
    other_team_scientist,
    auditor,
    django_capture_on_commit_callbacks,
):
    rows = _window_rows(model, compas.iloc[3600:])
    assert _post(client_as(outsider), rows, django_capture_on_commit_callbacks).status_code == 403
    assert _post(client_as(auditor), rows, django_capture_on_commit_callbacks).status_code == 403
    window = _run(ci_client, rows, django_capture_on_commit_callbacks)
    detail = reverse("v1:monitoring-window", args=[window.pk])
    assert client_as(auditor).get(detail).status_code == 200
    assert client_as(requester).get(detail).status_code == 200  # a member of the model's team
    assert client_as(other_team_scientist).get(detail).status_code == 404  # not their team's model
    assert client_as(outsider).get(detail).status_code == 403
    listing = ci_client.get(reverse("v1:monitoring-windows", args=["compas", "1.0.0"])).json()
    assert [item["id"] for item in listing["results"]] == [window.pk]
    policies = client_as(auditor).get(reverse("v1:monitoring-policies")).json()["results"]
    assert {p["risk_tier"]: p["psi_alert"] for p in policies} == {"high": 0.15, "low": 0.15, "medium": 0.15}
    assert all("Siddiqi" in p["psi_alert_source"] for p in policies)


def test_scheduled_retraining_is_asked_for_once_per_period(in_production, officer):
    from datetime import timedelta

    from monitoring.models import MonitoringPolicy
    from monitoring.services import monitoring_policy_update, retraining_schedule_run

    policy = MonitoringPolicy.objects.get(risk_tier="medium")
    assert policy.retrain_every_days == 365
    monitoring_policy_update(user=officer, policy=policy, retrain_every_days=30)
    (changed,) = _events("monitoring.policy_changed")
    assert changed["data"]["before"]["retrain_every_days"] == 365
    assert changed["data"]["after"]["retrain_every_days"] == 30
    registered = in_production.created_at
    assert retraining_schedule_run(now=registered + timedelta(days=29)) == 0
    assert retraining_schedule_run(now=registered + timedelta(days=31)) == 1
    (scheduled,) = _events("retraining.requested")
    assert scheduled["data"]["reasons"] == ["scheduled"] and scheduled["data"]["schedule_days"] == 30
    asked = AuditEvent.objects.get(action="retraining.requested").ts  # the next period counts from the request
    assert retraining_schedule_run(now=asked + timedelta(days=29)) == 0
    assert retraining_schedule_run(now=asked + timedelta(days=31)) == 1


def test_a_policy_change_out_of_range_is_refused_and_leaves_no_event(officer):
    from django.core.exceptions import ValidationError

    from monitoring.models import MonitoringPolicy
    from monitoring.services import monitoring_policy_update

    with pytest.raises(ValidationError):
        monitoring_policy_update(user=officer, policy=MonitoringPolicy.objects.get(risk_tier="low"), psi_alert=-1)
    low = MonitoringPolicy.objects.get(risk_tier="low")
    with pytest.raises(ValidationError, match="feature_drif"):
        monitoring_policy_update(user=officer, policy=low, monitors={"feature_drif": True})
    with pytest.raises(ValidationError, match="true"):
        monitoring_policy_update(user=officer, policy=low, monitors={"feature_drift": "yes"})
    assert _events("monitoring.policy_changed") == []
    assert MonitoringPolicy.objects.get(risk_tier="low").psi_alert == 0.15


def test_the_sweep_runs_a_window_the_broker_never_got_and_a_damaged_file_fails_visibly(
    in_production, compas, model, ci_client, settings, django_capture_on_commit_callbacks
):
    import os

    from core.blobs import blob_path
    from monitoring.services import monitoring_sweep

    held_out = compas.iloc[3600:]
    with django_capture_on_commit_callbacks(execute=False):  # committed, never enqueued
        url = reverse("v1:monitoring-windows", args=["compas", "1.0.0"])
        body = {"file": csv_upload(_window_rows(model, held_out)), "window_start": START, "window_end": END}
        lost = ci_client.post(url, body, format="multipart").json()["id"]
        body = {"file": csv_upload(_window_rows(model, held_out.iloc[:2000])), "window_start": START, "window_end": END}
        damaged = ProductionWindow.objects.get(pk=ci_client.post(url, body, format="multipart").json()["id"])
    path = blob_path(settings.DATASET_ROOT, damaged.sha256)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-2] = ord("0") if data[-2] != ord("0") else ord("1")  # one digit of the last row, changed on disk
    path.write_bytes(bytes(data))
    assert ProductionWindow.objects.filter(status="queued", enqueued_at__isnull=True).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert monitoring_sweep()["enqueued"] == 2
    assert ProductionWindow.objects.get(pk=lost).status == "succeeded"
    damaged.refresh_from_db()
    assert damaged.status == "failed" and "does not match its recorded SHA-256" in damaged.error
    (failed,) = _events("monitoring.window_failed")
    assert failed["data"]["window"] == damaged.pk


def test_a_window_whose_worker_died_is_checked_again_and_a_stalled_worker_changes_nothing(
    in_production, compas, model, ci_client, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from monitoring.services import monitoring_sweep, production_window_claim, production_window_finish

    with django_capture_on_commit_callbacks(execute=False):  # committed; the test plays the worker
        url = reverse("v1:monitoring-windows", args=["compas", "1.0.0"])
        body = {"file": csv_upload(_window_rows(model, compas.iloc[3600:])), "window_start": START, "window_end": END}
        pk = ci_client.post(url, body, format="multipart").json()["id"]
    stalled = production_window_claim(pk)
    ProductionWindow.objects.filter(pk=pk).update(enqueued_at=timezone.now(), heartbeat_at=timezone.now())
    assert monitoring_sweep()["requeued_or_failed"] == 0  # its worker still beats
    ProductionWindow.objects.filter(pk=pk).update(heartbeat_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert monitoring_sweep()["requeued_or_failed"] == 1  # silent for two minutes: run again
    window = ProductionWindow.objects.get(pk=pk)
    assert (window.status, window.attempts) == ("succeeded", 2), window.error
    late = {**window.result, "verdict": "alert", "alerts": [{"monitor": "drift"}]}
    assert production_window_finish(stalled, result=late).result == window.result  # the first claim's is void
    assert len(_events("monitoring.window_checked")) == 1
