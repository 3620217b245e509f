"""What a risk tier's approval policy says, as the plain data that requests and evidence jobs record."""

from datetime import timedelta

from core.errors import DomainError
from mlio.confinement import EvaluationLimits, limits_problems
from registry.models import ApprovalPolicy

# What one evaluation of a model may use, per risk tier (mlio.confinement): policy fields of their own.
EVALUATION_LIMIT_FIELDS = {
    "evaluation_cpu_seconds": "cpu_seconds",
    "evaluation_memory_mb": "memory_mb",
    "evaluation_wall_seconds": "wall_seconds",
    "evaluation_output_mb": "output_mb",
}

# What a superuser may change in a policy (the API, the admin and the snapshot all name these).
POLICY_FIELDS = (
    "approvals_required",
    "officer_approvals_required",
    "requires_explanation",
    "requires_bias_audit",
    "requires_model_cards",
    "requires_drift_check_for_reapproval",
    "requires_checklists_without_failures",
    "requires_model_signature",
    "unexplainable",
    "validity_days",
    "evidence_max_age_days",
    "bias_min_selection_rate_ratio",
    "bias_max_equalized_odds_difference",
    "rollback_on_breach",
    *EVALUATION_LIMIT_FIELDS,
)


# The range each number of a policy may take: wide enough for any real policy, narrow enough that counting
# approvals and adding days to a date can never overflow. The API, the admin (through the service) and every
# read of a stored snapshot hold to them.
POLICY_NUMBER_RANGES = {
    "approvals_required": (1, 20),
    "officer_approvals_required": (0, 20),
    "validity_days": (1, 3650),
    "evidence_max_age_days": (1, 3650),
}


def policy_number_problems(values: dict) -> dict[str, list[str]]:
    """Each policy number given outside its range, with the problem."""
    problems = {}
    for name, (low, high) in POLICY_NUMBER_RANGES.items():
        value = values.get(name)
        if value is not None and not low <= value <= high:
            problems[name] = [f"Must be between {low} and {high}."]
    return problems


def policy_days(rules: ApprovalPolicy | dict, name: str) -> timedelta | None:
    """A policy's (or a snapshot's) number of days as a duration held to its range, so that no stored value
    (one written before the ranges, or by hand) can break a read or a decision; None where there is none."""
    value = rules.get(name) if isinstance(rules, dict) else getattr(rules, name)
    if value is None:
        return None
    low, high = POLICY_NUMBER_RANGES[name]
    try:
        days = min(max(int(value), low), high)
    except (TypeError, ValueError, OverflowError):
        days = low  # not a number at all: the strictest reading
    return timedelta(days=days)


def policy_snapshot(policy: ApprovalPolicy) -> dict:
    """The policy as it stands, frozen into each approval request."""
    return {"risk_tier": policy.risk_tier, **{name: getattr(policy, name) for name in POLICY_FIELDS}}


def policy_for(version) -> ApprovalPolicy | None:
    """The policy of the version's risk tier."""
    return ApprovalPolicy.objects.filter(risk_tier=version.model.risk_tier).first()


def policy_thresholds(policy: ApprovalPolicy | dict | None) -> dict | None:
    """The bias thresholds a policy (or a snapshot of one) sets, in the form a bias audit records them.

    None for no policy, and for snapshots taken before policies had thresholds.
    """
    if policy is None:
        return None
    rules = policy if isinstance(policy, dict) else policy_snapshot(policy)
    if "bias_min_selection_rate_ratio" not in rules:
        return None
    return {
        "min_selection_rate_ratio": rules["bias_min_selection_rate_ratio"],
        "max_equalized_odds_difference": rules["bias_max_equalized_odds_difference"],
    }


def evaluation_limits_for(version) -> tuple[EvaluationLimits, str]:
    """The limits the version's risk tier sets for evaluating its model, and where they come from (for messages)."""
    policy = policy_for(version)
    if policy is None:
        return EvaluationLimits(), "the service's defaults (no policy for this risk tier)"
    limits = EvaluationLimits(**{limit: getattr(policy, field) for field, limit in EVALUATION_LIMIT_FIELDS.items()})
    return limits, f"the approval policy for {policy.risk_tier} risk"


def evaluation_limits_check(policy: ApprovalPolicy) -> None:
    """Refuses a limit outside its range, naming the policy field."""
    values = {limit: getattr(policy, field) for field, limit in EVALUATION_LIMIT_FIELDS.items()}
    problems = {f"evaluation_{name}": problem for name, problem in limits_problems(values).items()}
    if problems:
        name, problem = next(iter(problems.items()))
        raise DomainError(
            "invalid", f"{name}: {problem[0].lower()}{problem[1:]}", fields={k: [v] for k, v in problems.items()}
        )


def policy_changes_since(frozen: dict, version) -> list[str]:
    """How the policy now in force for the version's risk tier differs from the one a request froze, one line
    per field the request recorded (`validity_days: 365 then, 90 now`); empty when nothing changed. A field the
    snapshot predates is not a change: the request never recorded it."""
    current = policy_for(version)
    if current is None:
        return ["the request's policy no longer exists: no policy is set for the version's risk tier"]
    now = policy_snapshot(current)
    return [
        f"{name}: {frozen[name]!r} then, {now[name]!r} now"
        for name in ("risk_tier", *POLICY_FIELDS)
        if name in frozen and frozen[name] != now[name]
    ]
