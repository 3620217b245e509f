"""Production monitoring: windows uploaded and validated, run as jobs, finished once; breaches raised as audit
events (webhooks subscribe to them: ``monitoring.alert``, ``retraining.requested``); the policy per risk tier.

A window's state is its row (core.rowjobs): enqueued after commit, claimed with a conditional UPDATE, swept
when the broker missed it or its worker died.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audits.ledger.hashing import canonical, normalise, sha256_hex
from audits.models import AuditEvent
from audits.services import actor_for, audit_event_append, object_ref
from core import blobs
from core.errors import DomainError
from core.permissions import model_write_check
from core.rowjobs import row_claim, row_claimed, row_enqueue, row_fail, row_sweep
from mlio.datasets import DatasetInvalid, DatasetSchema, column_names, inspect_dataset
from monitoring.models import MonitoringPolicy, ProductionWindow
from monitoring.monitors import DRIFT_MONITORS, MONITORS, PERFORMANCE_MONITORS
from registry.models import ModelVersion, Stage

Status = ProductionWindow.Status
POLICY_FIELDS = (
    "monitors",
    "psi_alert",
    "psi_alert_source",
    "min_rows",
    "min_labelled_rows",
    "max_performance_drop",
    "retrain_on_drift",
    "retrain_on_performance",
    "retrain_every_days",
)


def monitoring_policy_snapshot(policy: MonitoringPolicy) -> dict:
    return {"risk_tier": policy.risk_tier, **{name: getattr(policy, name) for name in POLICY_FIELDS}}


@transaction.atomic
def monitoring_policy_update(*, user, policy: MonitoringPolicy, **changes) -> MonitoringPolicy:
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise DomainError("invalid", f"{unknown[0]}: not a policy field.", fields={unknown[0]: ["Unknown field."]})
    before = monitoring_policy_snapshot(policy)
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.full_clean()
    _check_monitors(policy.monitors)
    policy.save()
    audit_event_append(
        actor=actor_for(user),
        action="monitoring.policy_changed",
        object_ref=object_ref(policy),
        data={"before": before, "after": monitoring_policy_snapshot(policy)},
    )
    return policy


def _check_monitors(monitors) -> None:
    """The monitors a policy runs: each named monitor on (true) or off (false), and no other name."""
    if not isinstance(monitors, dict) or set(monitors) - set(MONITORS):
        unknown = sorted(set(monitors) - set(MONITORS)) if isinstance(monitors, dict) else []
        raise ValidationError(
            {"monitors": [f"Name only {', '.join(MONITORS)}; not {', '.join(unknown) or monitors!r}."]}
        )
    if not all(isinstance(value, bool) for value in monitors.values()):
        raise ValidationError({"monitors": ["Each monitor is true (on) or false (off)."]})


# --- upload ----------------------------------------------------------------------------------------------


def _window_schema(version: ModelVersion, names: list[str], prediction: str, score: str | None) -> DatasetSchema:
    """The version's schema (its evaluation data's): its features, its target when the file carries labels."""
    evaluation = version.evaluation_dataset
    if evaluation is None:
        raise DomainError(
            "invalid",
            "version: it has no evaluation dataset to take the schema and the baseline from.",
            fields={"version": ["No evaluation dataset."]},
        )
    declared = evaluation.schema
    target = declared.get("target")
    if score is None and "score" in names and declared["task"] == "binary_classification":
        score = "score"
    try:
        return DatasetSchema.from_dict(
            {
                "features": declared["features"],
                "target": target if target in names else None,
                "positive_label": declared.get("positive_label"),
                "task": declared["task"],
                "prediction": prediction,
                "score": score,
            }
        )
    except DatasetInvalid as exc:
        raise DomainError("invalid", exc.message, fields=exc.problems) from exc


def _check_bounds(window_start: datetime, window_end: datetime) -> None:
    if window_end <= window_start:
        raise DomainError(
            "invalid",
            "window_end: must come after window_start.",
            fields={"window_end": ["Must come after window_start."]},
        )


def production_window_upload(
    *,
    user,
    version: ModelVersion,
    upload,
    window_start: datetime,
    window_end: datetime,
    prediction: str = "prediction",
    score: str | None = None,
) -> tuple[ProductionWindow, bool]:
    """Validates the rows against the version's schema, keeps them by SHA-256 and queues the monitors.
    The same bytes for the same window return the window already recorded (created False)."""
    model_write_check(user, version.model)
    _check_bounds(window_start, window_end)
    temp, sha256, size = blobs.receive(
        upload, root=settings.DATASET_ROOT, max_bytes=settings.MAX_DATASET_BYTES, field="file"
    )
    try:
        existing = ProductionWindow.objects.filter(
            version=version, window_start=window_start, window_end=window_end, sha256=sha256
        ).first()
        if existing:
            return existing, False
        try:
            schema = _window_schema(version, column_names(temp), prediction, score)
            profile = inspect_dataset(temp, schema, max_bytes=settings.MAX_DATASET_BYTES)
        except DatasetInvalid as exc:
            raise DomainError("invalid", exc.message, fields=exc.problems) from exc
        blobs.keep(temp, root=settings.DATASET_ROOT, sha256=sha256)
    finally:
        temp.unlink(missing_ok=True)
    try:
        return _window_create(user, version, window_start, window_end, schema, profile), True
    except IntegrityError:  # the same bytes for the same window, posted at the same moment: recorded once
        existing = ProductionWindow.objects.filter(
            version=version, window_start=window_start, window_end=window_end, sha256=sha256
        ).first()
        if existing is None:
            raise
        return existing, False


@transaction.atomic
def _window_create(user, version, window_start, window_end, schema: DatasetSchema, profile) -> ProductionWindow:
    policy = MonitoringPolicy.objects.get(risk_tier=version.model.risk_tier)
    window = ProductionWindow.objects.create(
        version=version,
        window_start=window_start,
        window_end=window_end,
        sha256=profile.sha256,
        size=profile.size,
        format=profile.format,
        rows=profile.rows,
        labelled=schema.target is not None,
        schema=schema.to_dict(),
        policy=monitoring_policy_snapshot(policy),
        uploaded_by=user,
    )
    audit_event_append(
        actor=actor_for(user),
        action="monitoring.window_received",
        object_ref=object_ref(window),
        data={**_window_facts(window), "sha256": window.sha256, "rows": window.rows, "policy": window.policy},
    )
    transaction.on_commit(lambda: enqueue(window.pk))
    return window


def _window_facts(window: ProductionWindow) -> dict:
    return {
        "model": window.version.model.name,
        "version": window.version.version,
        "window": window.pk,
        "window_start": window.window_start.isoformat(),
        "window_end": window.window_end.isoformat(),
        "labelled": window.labelled,
    }


# --- the job ---------------------------------------------------------------------------------------------


def enqueue(window_pk: int) -> bool:
    from monitoring.tasks import run_production_window

    return row_enqueue(ProductionWindow, window_pk, run_production_window.delay)


def production_window_claim(window_pk: int) -> ProductionWindow | None:
    if not row_claim(ProductionWindow, window_pk):
        return None
    related = ("version__model", "version__artifact", "version__evaluation_dataset")
    return ProductionWindow.objects.select_related(*related).get(pk=window_pk)


@transaction.atomic
def production_window_finish(window: ProductionWindow, *, result: dict) -> ProductionWindow:
    result = normalise(result, "result")
    digest = sha256_hex(canonical(result))
    updated = row_claimed(ProductionWindow, window).update(  # by the claim that ran it, not a stalled worker
        status=Status.SUCCEEDED,
        result=result,
        result_sha256=digest,
        verdict=result["verdict"],
        finished_at=timezone.now(),
        error="",
    )
    if updated:  # once, however often the message is delivered
        audit_event_append(
            actor="system",
            action="monitoring.window_checked",
            object_ref=object_ref(window),
            data={**_window_facts(window), "result_sha256": digest, "verdict": result["verdict"]},
        )
        if result["alerts"]:
            _breach(window, result, digest)
    return ProductionWindow.objects.get(pk=window.pk)


def _breach(window: ProductionWindow, result: dict, digest: str) -> None:
    """An alert is an audit event (webhooks subscribe to it); a production version is marked for re-review
    (approvals.rereview opens it, as after a drift alert); retraining is asked for where the policy says."""
    version = window.version
    review = version.stage == Stage.PRODUCTION
    if review:
        ModelVersion.objects.filter(pk=version.pk).update(review_required=True)
    facts = {**_window_facts(window), "result_sha256": digest}
    audit_event_append(
        actor="system",
        action="monitoring.alert",
        object_ref=object_ref(version),
        data={**facts, "alerts": result["alerts"], "review_required": review},
    )
    reasons = _retraining_reasons(window.policy, [alert["monitor"] for alert in result["alerts"]])
    if reasons:
        _retraining_request(version, reasons=reasons, facts=facts)


def _retraining_reasons(policy: dict, monitors: list[str]) -> list[str]:
    reasons = []
    if policy["retrain_on_drift"] and any(name in DRIFT_MONITORS for name in monitors):
        reasons.append("drift")
    if policy["retrain_on_performance"] and any(name in PERFORMANCE_MONITORS for name in monitors):
        reasons.append("performance")
    return reasons


def _retraining_request(version: ModelVersion, *, reasons: list[str], facts: dict) -> None:
    audit_event_append(
        actor="system",
        action="retraining.requested",
        object_ref=object_ref(version),
        data={"model": version.model.name, "version": version.version, "reasons": reasons, **facts},
    )


@transaction.atomic
def production_window_fail(window: ProductionWindow, *, message: str) -> ProductionWindow:
    if row_fail(ProductionWindow, window.pk, message=message, attempt=window.attempts):
        audit_event_append(
            actor="system",
            action="monitoring.window_failed",
            object_ref=object_ref(window),
            data={**_window_facts(window), "error": message[:500]},
        )
    return ProductionWindow.objects.get(pk=window.pk)


# --- periodic --------------------------------------------------------------------------------------------


def monitoring_sweep(*, now=None) -> dict:
    """Beat: enqueue windows the broker never got, requeue or fail those whose worker died, and ask for the
    scheduled retraining of production versions that are due."""
    swept = row_sweep(ProductionWindow, enqueue=enqueue, fail=production_window_fail, related=("version__model",))
    return {**swept, "retraining_requested": retraining_schedule_run(now=now)}


def retraining_schedule_run(*, now=None) -> int:
    """A production version is due when its tier's schedule has passed since it was registered, or since
    retraining was last asked for (for whatever reason)."""
    now = now or timezone.now()
    requested = 0
    schedules = dict(
        MonitoringPolicy.objects.filter(retrain_every_days__isnull=False).values_list("risk_tier", "retrain_every_days")
    )
    versions = ModelVersion.objects.filter(stage=Stage.PRODUCTION, model__risk_tier__in=list(schedules))
    for version in versions.select_related("model"):
        requested += _retraining_if_due(version, days=schedules[version.model.risk_tier], now=now)
    return requested


@transaction.atomic
def _retraining_if_due(version: ModelVersion, *, days: int, now) -> bool:
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    last = (
        AuditEvent.objects.filter(action="retraining.requested", object_ref=object_ref(version))
        .order_by("-seq")
        .values_list("ts", flat=True)
        .first()
    )
    since = max(filter(None, [version.created_at, last]))
    if now < since + timedelta(days=days):
        return False
    facts = {"schedule_days": days, "since": since.isoformat()}
    _retraining_request(version, reasons=["scheduled"], facts=facts)
    return True
