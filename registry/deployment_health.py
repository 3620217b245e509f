"""Health reports of deployments: windows of live traffic (requests, errors, latency) that the serving side
posts, judged against the deployment's rollback threshold. The first breach of a deployment is answered as
the policy of the model's risk tier says: a rollback recommendation (`deployment.rollback_recommended`, and
so a webhook), or the one-call rollback done by the service itself (`deployment.rolled_back`) where it can
be done; where it cannot, the answer is the recommendation, saying why."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from audits.services import actor_for, audit_event_append, object_ref
from core.errors import DomainError
from core.permissions import model_write_check
from registry.models import Deployment, DeploymentHealthReport, Stage
from registry.policies import policy_for
from registry.rollback_rules import LATENCY_METRICS, Verdict, Window, threshold_judge
from registry.stages import model_rollback

# A platform's clock may run a little ahead of ours; a window ending later than this is refused.
CLOCK_SKEW = timedelta(minutes=5)
Response = DeploymentHealthReport.Response


def _invalid(field: str, problem: str) -> DomainError:
    return DomainError("invalid", f"{field}: {problem[0].lower()}{problem[1:]}", fields={field: [problem]})


def _check(deployment: Deployment, start: datetime, end: datetime, requests: int, errors: int, latency: dict):
    if end <= start:
        raise _invalid("window_end", "Must be later than window_start.")
    if end > timezone.now() + CLOCK_SKEW:
        raise _invalid("window_end", "Is in the future: report a window once it has ended.")
    if errors > requests:
        raise _invalid("errors", f"Cannot exceed requests ({requests}).")
    metric = deployment.rollback_threshold.get("metric")
    if metric in LATENCY_METRICS and latency.get(metric) is None:
        raise _invalid(metric, "Required: the deployment's rollback threshold is on this metric.")
    overlapping = deployment.health_reports.filter(window_start__lt=end, window_end__gt=start).first()
    if overlapping:
        message = (
            f"The window overlaps report {overlapping.pk} ({overlapping.window_start.isoformat()} to "
            f"{overlapping.window_end.isoformat()}); windows of one deployment never overlap."
        )
        raise DomainError("overlapping_window", message, status_code=409)


def _windows(deployment: Deployment, report: DeploymentHealthReport) -> list[Window]:
    """The reported window and, when the threshold spans minutes, those that ended within them before it."""
    minutes = deployment.rollback_threshold.get("window_minutes")
    rows = [report]
    if minutes:
        since = report.window_end - timedelta(minutes=minutes)
        rows = deployment.health_reports.filter(window_end__gt=since, window_end__lte=report.window_end)
    return [
        Window(r.window_start, r.window_end, r.requests, r.errors, r.latency_p50_ms, r.latency_p95_ms, r.latency_p99_ms)
        for r in rows
    ]


@transaction.atomic
def deployment_health_report(
    *,
    deployment: Deployment,
    user,
    window_start: datetime,
    window_end: datetime,
    requests: int,
    errors: int,
    latency_p50_ms: float | None = None,
    latency_p95_ms: float | None = None,
    latency_p99_ms: float | None = None,
) -> DeploymentHealthReport:
    # The lock makes reports of one deployment take turns: the overlap check and the one response hold.
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("version__model", "version__artifact")
        .get(pk=deployment.pk)
    )
    model_write_check(user, deployment.version.model)
    latency = {"latency_p50_ms": latency_p50_ms, "latency_p95_ms": latency_p95_ms, "latency_p99_ms": latency_p99_ms}
    _check(deployment, window_start, window_end, requests, errors, latency)
    report = DeploymentHealthReport.objects.create(
        deployment=deployment,
        window_start=window_start,
        window_end=window_end,
        requests=requests,
        errors=errors,
        reported_by=user,
        **latency,
    )
    verdict = threshold_judge(deployment.rollback_threshold, _windows(deployment, report))
    report.verdict = verdict.to_dict() if verdict else None
    report.breached = bool(verdict and verdict.breached)
    report.save(update_fields=["verdict", "breached"])
    audit_event_append(
        actor=actor_for(user),
        action="deployment.health_reported",
        object_ref=object_ref(deployment),
        data={
            **_facts(deployment),
            "report": report.pk,
            "window_start": window_start.isoformat(),
            "window_end": window_end.isoformat(),
            "requests": requests,
            "errors": errors,
            **{name: value for name, value in latency.items() if value is not None},
            "verdict": report.verdict,
        },
    )
    if report.breached and not deployment.health_reports.exclude(response=Response.NONE).exists():
        _respond(deployment, report, verdict)
    return report


def _facts(deployment: Deployment) -> dict:
    return {
        "model": deployment.version.model.name,
        "version": deployment.version.version,
        "deployment": deployment.pk,
        "environment": deployment.environment,
        "strategy": deployment.strategy,
        "traffic_percent": str(deployment.traffic_percent),
        "serving_platform": deployment.serving_platform,
        "rollback_threshold": deployment.rollback_threshold,
    }


def _automatic_refusal(deployment: Deployment) -> str | None:
    """Why the service may not roll this deployment back itself, or None. A rollback puts the model's
    previous production version back, so it answers only for the production version serving production."""
    version = deployment.version
    version.refresh_from_db(fields=["stage"])
    if deployment.approval_stage != Stage.PRODUCTION:
        return f"{deployment.environment} is not a production environment"
    if deployment.strategy == Deployment.Strategy.SHADOW:
        return "a shadow deployment serves none of its answers"
    if version.stage != Stage.PRODUCTION:
        return f"{version} is not the model's production version (its stage is {version.stage})"
    return None


def _respond(deployment: Deployment, report: DeploymentHealthReport, verdict: Verdict) -> None:
    policy = policy_for(deployment.version)
    setting = policy.rollback_on_breach if policy else "recommend"
    refusal = _automatic_refusal(deployment) if setting == "automatic" else None
    facts = {**_facts(deployment), "report": report.pk, "verdict": verdict.to_dict(), "policy": setting}
    if setting == "automatic" and refusal is None:
        reason = f"deployment {deployment.pk} in {deployment.environment}: {verdict.reason} (report {report.pk})"
        try:
            with transaction.atomic():
                restored = model_rollback(model=deployment.version.model, user=None, reason=reason)
        except DomainError as exc:
            refusal = exc.message
        else:
            report.response = Response.ROLLED_BACK
            report.save(update_fields=["response"])
            data = {**facts, "rolled_back_to": restored.version}
            audit_event_append(
                actor="system", action="deployment.rolled_back", object_ref=object_ref(deployment), data=data
            )
            return
    report.response = Response.RECOMMENDED
    report.save(update_fields=["response"])
    data = {**facts, **({"automatic_rollback_refused": refusal} if refusal else {})}
    audit_event_append(
        actor="system", action="deployment.rollback_recommended", object_ref=object_ref(deployment), data=data
    )
