"""Evidence jobs in the admin as officers and auditors read them, and progress that never reads complete
before the result is recorded (nor running while the job waits in the queue)."""

import json

import pytest
from django.urls import reverse

from core import roles
from evidence import fairness, runner
from evidence.explain import confined
from evidence.models import EvidenceJob
from evidence.services import evidence_job_progress
from registry.models import Dataset
from tests.factories import UserFactory
from tests.registry_fixtures import SCHEMA, csv_upload

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:evidence_evidencejob_changelist"


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.BIAS_BOOTSTRAP_RESAMPLES = 20
    settings.DRIFT_MIN_ROWS = 100


def _request(client, kind: str, dataset: int, capture=None, **extra) -> EvidenceJob:
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    body = {"kind": kind, "dataset": dataset, **extra}
    if capture is None:  # not run: the job stays queued
        response = client.post(url, body, format="json")
    else:
        with capture(execute=True):
            response = client.post(url, body, format="json")
    assert response.status_code == 202, response.json()
    return EvidenceJob.objects.get(pk=response.json()["id"])


def _dataset(client, frame, kind: str) -> int:
    body = {"file": csv_upload(frame), "name": f"{kind}-data", "kind": kind, "schema": json.dumps(SCHEMA)}
    response = client.post(reverse("v1:datasets"), body, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


@pytest.fixture
def dataset(registered) -> int:
    return Dataset.objects.get(name="applicants-2026q3").pk


@pytest.fixture
def bias_job(dataset, ci_client, django_capture_on_commit_callbacks) -> EvidenceJob:
    job = _request(ci_client, "bias_audit", dataset, django_capture_on_commit_callbacks)
    assert job.status == "succeeded", job.error
    return job


@pytest.fixture
def requeued_job(dataset, ci_client) -> EvidenceJob:
    """An explanation the sweep put back in the queue after its worker died 150 rows in."""
    job = _request(ci_client, "explanation", dataset)
    EvidenceJob.objects.filter(pk=job.pk).update(status="queued", attempts=1, progress_done=150, progress_total=400)
    return job


def _page(client, user, url):
    client.force_login(user)
    return client.get(url)


@pytest.mark.parametrize("persona", ["officer", "auditor", "admin_user"])
def test_readers_see_every_job_with_honest_progress(request, client, persona, bias_job, requeued_job):
    page = _page(client, request.getfixturevalue(persona), reverse(CHANGELIST))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<progress value="400" max="400"' in html and "succeeded: 400 of 400 rows (100 %)" in html
    assert '<progress value="0" max="1"' in html and "queued (0 %)" in html
    assert '<progress value="150"' not in html  # the dead attempt's count is not this one's
    assert "credit-scoring 1.0.0" in html


def test_the_list_filters_on_status_and_searches_model_names(client, officer, bias_job, requeued_job):
    queued = _page(client, officer, reverse(CHANGELIST) + "?status=queued").content.decode()
    assert f"/{requeued_job.pk}/change/" in queued and f"/{bias_job.pk}/change/" not in queued
    found = client.get(reverse(CHANGELIST) + "?q=credit").content.decode()
    assert f"/{bias_job.pk}/change/" in found
    assert f"/{bias_job.pk}/change/" not in client.get(reverse(CHANGELIST) + "?q=nothing-like-it").content.decode()


def test_a_queued_job_reads_queued_in_the_api_too(ci_client, requeued_job):
    job = ci_client.get(reverse("v1:evidence-job", args=[requeued_job.pk])).json()
    assert (job["status"], job["progress"]) == ("queued", {"done": 0, "total": 0})


def test_a_bias_audit_detail_shows_its_digest_and_per_feature_verdicts(client, auditor, bias_job):
    page = _page(client, auditor, reverse("admin:evidence_evidencejob_change", args=[bias_job.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    feature = bias_job.result["features"][0]
    assert bias_job.result_sha256 in html
    assert f"<td>sex</td><td>{feature['verdict']['status']}</td>" in html
    assert all(f"{g['group']} ({g['count']})" in html for g in feature["groups"])
    assert "Verdict per sensitive feature" in html and "succeeded: 400 of 400 rows" in html
    assert "Save" not in html and "Delete" not in html


def test_an_explanation_detail_lists_the_top_features_by_mean_abs_shap(
    dataset, client, officer, ci_client, django_capture_on_commit_callbacks
):
    job = _request(ci_client, "explanation", dataset, django_capture_on_commit_callbacks)
    assert job.status == "succeeded", job.error
    html = _page(client, officer, reverse("admin:evidence_evidencejob_change", args=[job.pk])).content.decode()
    top = job.result["importance"][0]
    assert "features by mean |SHAP|" in html
    assert f"<td>{top['feature']}</td><td>{top['mean_abs_shap']:.4g}</td>" in html
    assert "additivity" in html and "passed" in html


def test_a_bias_audit_detail_shows_checks_with_sources_groups_with_intervals_and_its_chart(client, auditor, bias_job):
    html = _page(client, auditor, reverse("admin:evidence_evidencejob_change", args=[bias_job.pk])).content.decode()
    feature = bias_job.result["features"][0]
    check = feature["verdict"]["checks"][0]
    assert "Checks with their limits and where each limit comes from" in html
    assert f"<td>{check['name']}</td>" in html and f"<td>{check['source']}</td>" in html
    assert f"<td>{check['threshold']:.4g}</td>" in html
    group = feature["groups"][0]
    rate = group["metrics"]["selection_rate"]
    low, high = rate["ci"]
    assert "Per group, with 95 % bootstrap intervals" in html
    assert f"<td>{rate['value']:.4g} [{low:.4g}, {high:.4g}]</td>" in html
    chart = reverse("admin:evidence_evidencejob_chart", args=[bias_job.pk, "selection_rate"])
    assert f'<img src="{chart}" alt="Selection rate per group, with 95 % intervals"' in html
    png = client.get(chart)
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")


def test_charts_are_served_only_to_readers_and_only_those_a_job_has(client, auditor, requester, bias_job):
    staff_scientist = UserFactory(username="chart-scientist", roles=[roles.DATA_SCIENTIST], is_staff=True)
    chart = reverse("admin:evidence_evidencejob_chart", args=[bias_job.pk, "selection_rate"])
    client.force_login(staff_scientist)
    assert client.get(chart).status_code == 403
    client.force_login(auditor)
    for pk, name in ((bias_job.pk, "beeswarm"), (bias_job.pk + 999, "selection_rate")):
        assert client.get(reverse("admin:evidence_evidencejob_chart", args=[pk, name])).status_code == 404


def test_an_explanation_detail_shows_lime_agreement_per_row_and_both_shap_charts(
    dataset, client, officer, ci_client, django_capture_on_commit_callbacks
):
    job = _request(ci_client, "explanation", dataset, django_capture_on_commit_callbacks)
    assert job.status == "succeeded", job.error
    html = _page(client, officer, reverse("admin:evidence_evidencejob_change", args=[job.pk])).content.decode()
    agreement = job.result["lime"]["agreement"]
    row = agreement["rows"][0]
    summary = agreement["summary"]
    compared = summary["rows_compared"] + summary["rows_undefined"]
    assert f"{summary['top_feature_matches']} of {compared}" in html
    assert "LIME and SHAP per explained row" in html
    assert f"<td>{row['index']}</td>" in html and f"<td>{row['top_feature_shap']}</td>" in html
    for name in ("importance", "beeswarm"):
        chart = reverse("admin:evidence_evidencejob_chart", args=[job.pk, name])
        assert f'<img src="{chart}"' in html
        assert client.get(chart).content.startswith(b"\x89PNG")


def test_a_drift_check_detail_names_the_drifted_features(
    registered, client, officer, ci_client, applicants, django_capture_on_commit_callbacks
):
    reference = _dataset(ci_client, applicants, "reference")
    shifted = applicants.assign(income=applicants.income + 40)
    sample = _dataset(ci_client, shifted, "production_sample")
    job = _request(ci_client, "drift_check", sample, django_capture_on_commit_callbacks, reference=reference)
    assert (job.status, job.result["drifted_features"]) == ("succeeded", ["income"]), job.error
    html = _page(client, officer, reverse("admin:evidence_evidencejob_change", args=[job.pk])).content.decode()
    assert '<th scope="row">drifted features</th><td>income</td>' in html
    assert f"<td>income</td><td>drift</td><td>{job.result['features']['income']['psi']:.4g}</td>" in html


def test_others_neither_see_nor_open_the_jobs(client, requester, outsider, bias_job):
    staff_scientist = UserFactory(username="staff-scientist", roles=[roles.DATA_SCIENTIST], is_staff=True)
    staff_without_role = UserFactory(username="staff-nobody", is_staff=True)
    detail = reverse("admin:evidence_evidencejob_change", args=[bias_job.pk])
    for user in (staff_scientist, staff_without_role):
        assert _page(client, user, reverse(CHANGELIST)).status_code == 403
        assert client.get(detail).status_code == 403
        assert reverse(CHANGELIST) not in client.get(reverse("admin:index")).content.decode()
    for user in (requester, outsider):  # not staff: the admin sends them to its login page
        assert _page(client, user, reverse(CHANGELIST)).status_code == 302


def test_no_one_adds_changes_or_deletes_a_job_in_the_admin(client, admin_user, bias_job):
    client.force_login(admin_user)
    assert client.get(reverse("admin:evidence_evidencejob_add")).status_code == 403
    assert client.get(reverse("admin:evidence_evidencejob_delete", args=[bias_job.pk])).status_code == 403
    client.post(reverse("admin:evidence_evidencejob_change", args=[bias_job.pk]), {"verdict": "pass"})
    assert EvidenceJob.objects.get(pk=bias_job.pk).verdict == bias_job.verdict


def _recorded_progress(monkeypatch) -> list[tuple]:
    """Each progress call as (done, total, whether the result was already written when it was made)."""
    calls, record = [], runner.evidence_job_progress

    def recording(job, *, done, total):
        written = EvidenceJob.objects.filter(pk=job.pk, result__isnull=False).exists()
        calls.append((done, total, written))
        record(job, done=done, total=total)

    monkeypatch.setattr(runner, "evidence_job_progress", recording)
    return calls


def test_a_bias_audit_is_never_complete_before_its_result_is_written(
    dataset, ci_client, monkeypatch, django_capture_on_commit_callbacks
):
    calls, seen, draw = _recorded_progress(monkeypatch), [], fairness.group_metric_chart_png

    def drawn_after_the_audit(result, **kwargs):  # the audit has computed; the result is not written yet
        polled = ci_client.get(reverse("v1:evidence-jobs")).json()["results"][0]
        seen.append((polled["status"], polled["progress"]))
        return draw(result, **kwargs)

    monkeypatch.setattr(fairness, "group_metric_chart_png", drawn_after_the_audit)
    job = _request(ci_client, "bias_audit", dataset, django_capture_on_commit_callbacks)
    assert job.status == "succeeded", job.error
    assert calls == [(0, 0, False), (0, 400, False), (400, 400, True)]  # claimed, rows loaded, result written
    assert seen == [("running", {"done": 0, "total": 400})]
    assert (job.progress_done, job.progress_total) == (400, 400)


def test_a_small_explanation_is_not_complete_while_shap_and_lime_still_run(
    dataset, ci_client, monkeypatch, django_capture_on_commit_callbacks
):
    calls, seen, explain = _recorded_progress(monkeypatch), [], confined.explain_confined

    def observed(*args, **kwargs):  # SHAP and LIME run in the model's confined child
        seen.append(EvidenceJob.objects.values_list("status", "progress_done", "progress_total").get())
        return explain(*args, **kwargs)

    monkeypatch.setattr(confined, "explain_confined", observed)
    job = _request(ci_client, "explanation", dataset, django_capture_on_commit_callbacks)
    assert job.status == "succeeded", job.error
    assert seen == [("running", 0, 400)]
    assert [call for call in calls if call[0] == call[1] > 0] == [(400, 400, True)]


def test_progress_is_a_count_of_rows(dataset, ci_client):
    job = _request(ci_client, "bias_audit", dataset)
    with pytest.raises(ValueError, match="not a count of rows"):
        evidence_job_progress(job, done=401, total=400)
