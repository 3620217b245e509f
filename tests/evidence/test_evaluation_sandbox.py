"""A hostile model registers (the probe sees only its first rows) and is then stopped by the evaluation sandbox:
its bias audit, explanation and monitoring window fail at once with the limit it crossed, and are not retried.
The limits come from the policy of the model's risk tier, set tiny here so each breach takes seconds."""

import io
from datetime import UTC, datetime

import pytest
from django.core.files import File
from django.urls import reverse

from audits.models import AuditEvent
from audits.services import object_ref
from core import roles
from core.errors import DomainError
from evidence.models import EvidenceJob
from evidence.runner import run_job
from evidence.services import evidence_job_request, evidence_sweep
from monitoring.runner import run_window
from monitoring.services import production_window_upload
from registry.models import ApprovalPolicy
from registry.services import dataset_register, model_register, model_version_register
from tests.evidence.helpers import record
from tests.evidence.hostile_models import FEATURES, SCHEMA, applications, hungry_model, spinning_model
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _csv(frame, name: str) -> File:
    return File(io.BytesIO(frame.to_csv(index=False).encode()), name=name)


def register(onnx_model, frame, *, name: str = "hostile"):
    """The model registers on the data set's first rows (the probe's sample); returns (version, data set)."""
    user = UserFactory(username=f"ds-{name}", roles=[roles.DATA_SCIENTIST])  # in the personas' team
    model = model_register(user=user, name=name, risk_tier="high")
    dataset = dataset_register(
        user=user, name=f"{name}-data", kind="evaluation", upload=_csv(frame, "d.csv"), schema=SCHEMA
    )
    version, created = model_version_register(
        user=user,
        model=model,
        version="1.0.0",
        upload=File(io.BytesIO(onnx_model.SerializeToString()), name="model.onnx"),
        metadata={},
        sample_dataset=dataset,
    )
    assert created and version.artifact is not None
    return version, dataset


def limit_high_risk(**limits) -> None:
    ApprovalPolicy.objects.filter(risk_tier="high").update(**{f"evaluation_{k}": v for k, v in limits.items()})


def audit(version, dataset) -> EvidenceJob:
    job = evidence_job_request(kind="bias_audit", version=version, dataset=dataset, actor="user:ci")
    run_job(job.pk)
    return EvidenceJob.objects.get(pk=job.pk)


def test_a_model_that_spins_on_row_300_registers_and_its_bias_audit_stops_at_the_cpu_limit_for_good():
    version, dataset = register(spinning_model(), applications(trigger=1e6))
    limit_high_risk(cpu_seconds=3, wall_seconds=120)
    job = audit(version, dataset)
    assert job.status == "failed"
    assert job.error == (
        "the model used more than 3 s of CPU on 400 rows and was stopped "
        "(limit set by the approval policy for high risk)"
    )
    assert job.attempts == 1
    evidence_sweep()  # a breach is final: nothing requeues it
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 1)
    assert AuditEvent.objects.filter(action="evidence.failed", object_ref=object_ref(job)).count() == 1


def test_the_wall_clock_limit_stops_a_model_the_cpu_limit_has_not_yet_reached():
    version, dataset = register(spinning_model(), applications(trigger=1e6))
    limit_high_risk(cpu_seconds=3600, wall_seconds=4)
    job = audit(version, dataset)
    assert job.status == "failed"
    assert job.error.startswith("the model ran longer than 4 s on 400 rows and was stopped")


def test_a_model_that_asks_for_gigabytes_on_row_300_stops_at_the_memory_limit():
    version, dataset = register(hungry_model(), applications(trigger=1000))
    limit_high_risk(memory_mb=1536)
    job = audit(version, dataset)
    assert job.status == "failed"
    assert job.error.startswith("the model needed more than 1,536 MiB of memory on 400 rows and was stopped")
    assert job.attempts == 1


def test_the_same_models_without_the_trigger_row_give_their_bias_audit():
    version, dataset = register(spinning_model(), applications(trigger=None))
    limit_high_risk(cpu_seconds=60, wall_seconds=120)
    job = audit(version, dataset)
    assert job.status == "succeeded", job.error
    assert (job.progress_done, job.progress_total) == (400, 400)


def test_an_explanation_of_the_spinning_model_is_confined_too(settings):
    settings.EXPLAIN_LIME_ROWS = 0
    version, dataset = register(spinning_model(), applications(trigger=1e6))
    limit_high_risk(cpu_seconds=8, wall_seconds=120)
    job = evidence_job_request(kind="explanation", version=version, dataset=dataset, actor="user:ci")
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("the model used more than 8 s of CPU on 400 rows")


def test_a_monitoring_window_on_the_spinning_model_stops_at_the_cpu_limit():
    version, _ = register(spinning_model(), applications(trigger=1e6))
    limit_high_risk(cpu_seconds=3, wall_seconds=120)
    served = applications(trigger=None)
    rows = served[FEATURES].assign(prediction=served.approved)
    window, created = production_window_upload(
        user=UserFactory(username="monitor", roles=[roles.DATA_SCIENTIST]),
        version=version,
        upload=_csv(rows, "w.csv"),
        window_start=datetime(2026, 11, 1, tzinfo=UTC),
        window_end=datetime(2026, 11, 8, tzinfo=UTC),
    )
    assert created
    assert run_window(window.pk) == "failed"
    window.refresh_from_db()
    assert window.error.startswith("the model used more than 3 s of CPU on 400 rows")
    assert window.attempts == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("evaluation_cpu_seconds", 0), ("evaluation_memory_mb", 10**12), ("evaluation_wall_seconds", 86400)],
)
def test_a_policy_limit_out_of_range_is_refused_naming_it(client_as, admin_user, field, value):
    response = client_as(admin_user).patch(reverse("v1:policy", args=["high"]), {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not AuditEvent.objects.filter(action="policy.changed").exists()


def test_evaluation_limits_are_set_by_superusers_per_tier_and_audited(client_as, admin_user, officer):
    url = reverse("v1:policy", args=["high"])
    assert client_as(officer).patch(url, {"evaluation_cpu_seconds": 60}, format="json").status_code == 403
    response = client_as(admin_user).patch(url, {"evaluation_cpu_seconds": 60}, format="json")
    assert response.status_code == 200
    assert response.json()["evaluation_cpu_seconds"] == 60
    assert ApprovalPolicy.objects.get(risk_tier="medium").evaluation_cpu_seconds == 600  # the default
    event = AuditEvent.objects.get(action="policy.changed")
    assert record(event.seq)["data"]["after"]["evaluation_cpu_seconds"] == 60


def test_the_service_refuses_a_limit_out_of_range_from_any_caller(admin_user):
    from approvals.services import approval_policy_update

    with pytest.raises(DomainError) as refused:
        approval_policy_update(
            policy=ApprovalPolicy.objects.get(risk_tier="low"), user=admin_user, changes={"evaluation_output_mb": 0}
        )
    assert refused.value.fields == {"evaluation_output_mb": ["Must be a whole number from 1 to 4,096."]}
