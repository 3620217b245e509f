"""Automatic checklist rules and the reading of attestations: pure functions of a plain facts dict.

No ORM and no I/O here; reports/facts.py gathers the facts from the database. A rule is named in a
framework file (``rule: bias_audit_passed``) and returns a Decision: a status, one sentence of reason
and pointers to the evidence it was decided on. Nothing passes that the evidence does not show.

The facts (every key present; None where a thing does not exist)::

    now          aware datetime the checklist is evaluated at
    model        {name, intended_use}
    version      {id, version, stage, description, metrics, lineage, known_limitations}
    artifact     {sha256, stored_sha256 (None when the blob is missing)} or None (recorded predictions)
    dataset      {id, sha256, stored_sha256, features, sensitive_features, target} or None
    policy       {evidence_max_age_days, min_selection_rate_ratio, max_equalized_odds_difference}
    jobs         {explanation|bias_audit|drift_check: [job, newest first]}; a job is
                 {id, kind, status, verdict, result_sha256, finished_at, error, thresholds, rows_explained,
                  drifted_features}
    drift_windows [{id, window_start, window_end, finished_at, verdict (stable|drift), reason, drifted_features,
                  result_sha256}]: checked production windows that judged drift, the most recently checked first
    waivers      {bias_audit: {id, granted_by, expires_at} or None}
    trail        {ok, size, head, bad_seq, reason, events: [{seq, hash, action, object_ref}],
                  expected: [{object_ref, action, count}], stage_reached, checkpoint: {size, head} or None}
    attestations {framework: {item_id: {id, answer, statement_sha256, answered_by, answered_at, expires_at}}}
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from reports.proxies import sensitive_looking

PASSED, FAILED, OPEN, NOT_APPLICABLE = "passed", "failed", "open", "not_applicable"
STATUSES = (PASSED, FAILED, OPEN, NOT_APPLICABLE)
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Decision:
    status: str
    reason: str
    evidence: tuple[dict, ...] = ()


RULES: dict[str, Callable[[dict], Decision]] = {}


def rule(function: Callable[[dict], Decision]) -> Callable[[dict], Decision]:
    RULES[function.__name__] = function
    return function


def _day(moment) -> str:
    return moment.date().isoformat()


def job_pointer(job: dict) -> dict:
    return {"kind": "evidence_job", "id": job["id"], "job_kind": job["kind"], "sha256": job["result_sha256"]}


def _fresh(job: dict, facts: dict) -> bool:
    return job["finished_at"] >= facts["now"] - timedelta(days=facts["policy"]["evidence_max_age_days"])


def _judge_job(jobs: list[dict], facts: dict, label: str, passing: tuple[str, ...]) -> Decision:
    """The newest finished job decides; one still running only leaves the item open when none finished."""
    done = [job for job in jobs if job["status"] == "succeeded"]
    if not done:
        return _unfinished(jobs, label)
    job = done[0]
    pointer = (job_pointer(job),)
    if not _fresh(job, facts):
        days = facts["policy"]["evidence_max_age_days"]
        reason = (
            f"the {label} (job {job['id']}) finished on {_day(job['finished_at'])}, older than the policy's {days} days"
        )
        return Decision(FAILED, reason, pointer)
    if job["verdict"] not in passing:
        return Decision(FAILED, f"the {label} (job {job['id']}) verdict is {job['verdict'] or 'none'}", pointer)
    return Decision(PASSED, f"the {label} (job {job['id']}) of {_day(job['finished_at'])} is {job['verdict']}", pointer)


def _unfinished(jobs: list[dict], label: str) -> Decision:
    running = [job for job in jobs if job["status"] in ("queued", "running")]
    if running:
        return Decision(OPEN, f"the {label} (job {running[0]['id']}) is {running[0]['status']}")
    if jobs:
        job = jobs[0]
        return Decision(FAILED, f"the {label} (job {job['id']}) failed: {job['error'][:200]}", (job_pointer(job),))
    return Decision(FAILED, f"no {label} has been produced for this artifact")


@rule
def explanation_available(facts: dict) -> Decision:
    if facts["artifact"] is None:
        return Decision(FAILED, "the version has no artifact: recorded predictions alone cannot be explained")
    decision = _judge_job(facts["jobs"]["explanation"], facts, "explanation", ("done",))
    if decision.status == PASSED and not _newest_done(facts["jobs"]["explanation"])["rows_explained"]:
        return Decision(FAILED, "the explanation holds no per-row attributions", decision.evidence)
    return decision


def _newest_done(jobs: list[dict]) -> dict:
    return next(job for job in jobs if job["status"] == "succeeded")


def _strict_enough(job: dict, policy: dict) -> bool:
    """Judged against thresholds at least as strict as the policy's (older audits recorded none)."""
    limits = job["thresholds"]
    if not limits:
        return False
    ratio_ok = limits["min_selection_rate_ratio"] >= policy["min_selection_rate_ratio"] - TOLERANCE
    odds_ok = limits["max_equalized_odds_difference"] <= policy["max_equalized_odds_difference"] + TOLERANCE
    return ratio_ok and odds_ok


def _bias_audit(facts: dict) -> Decision:
    dataset = facts["dataset"]
    if dataset is None or not dataset["sensitive_features"]:
        return Decision(FAILED, "the evaluation dataset declares no sensitive features, so no bias audit can run")
    jobs = facts["jobs"]["bias_audit"]
    judged = [job for job in jobs if job["status"] != "succeeded" or _strict_enough(job, facts["policy"])]
    if jobs and not judged:
        reason = f"the bias audit (job {jobs[0]['id']}) was judged against laxer thresholds than the current policy's"
        return Decision(FAILED, reason, (job_pointer(jobs[0]),))
    return _judge_job(judged, facts, "bias audit", ("pass",))


def _waiver_pointer(waiver: dict) -> dict:
    return {"kind": "waiver", "id": waiver["id"]}


@rule
def bias_audit_passed(facts: dict) -> Decision:
    """A passed audit meets the item; an officer's active written waiver of the audit does too, and says so."""
    decision = _bias_audit(facts)
    waiver = facts["waivers"].get("bias_audit")
    if decision.status == PASSED or waiver is None:
        return decision
    reason = (
        f"waived by {waiver['granted_by']} until {_day(waiver['expires_at'])} (waiver {waiver['id']}); "
        f"without it: {decision.reason}"
    )
    return Decision(PASSED, reason, (*decision.evidence, _waiver_pointer(waiver)))


@rule
def sensitive_inputs_flagged(facts: dict) -> Decision:
    dataset = facts["dataset"]
    if dataset is None:
        return Decision(FAILED, "the version has no evaluation dataset, so its inputs cannot be checked")
    pointer = ({"kind": "dataset", "id": dataset["id"], "sha256": dataset["sha256"]},)
    suspects = sensitive_looking(dataset["features"])
    unflagged = [
        f"{name} ({category})" for name, category in suspects.items() if name not in dataset["sensitive_features"]
    ]
    if unflagged:
        return Decision(
            FAILED, f"inputs that look sensitive are not declared sensitive: {', '.join(unflagged)}", pointer
        )
    declared = ", ".join(dataset["sensitive_features"]) or "none"
    looked = ", ".join(f"{name} ({category})" for name, category in suspects.items()) or "no input"
    return Decision(
        PASSED, f"declared sensitive: {declared}; by name, {looked} looks sensitive and is flagged", pointer
    )


@rule
def discrimination_risk_mitigated(facts: dict) -> Decision:
    """Both halves must hold; a waiver of the bias audit identifies and mitigates nothing, so it does not count."""
    audit, flagged = _bias_audit(facts), sensitive_inputs_flagged(facts)
    evidence = (*audit.evidence, *flagged.evidence)
    waived = " (a waiver of the bias audit does not meet this item)" if facts["waivers"].get("bias_audit") else ""
    if audit.status == PASSED and flagged.status == PASSED:
        return Decision(PASSED, f"{audit.reason}; {flagged.reason}", evidence)
    failing = [d.reason for d in (audit, flagged) if d.status != PASSED]
    status = OPEN if {audit.status, flagged.status} <= {PASSED, OPEN} else FAILED
    return Decision(status, "; ".join(failing) + waived, evidence)


@rule
def drift_monitored(facts: dict) -> Decision:
    """A drift check job or a checked production window that judged drift; the more recent one speaks."""
    jobs, windows, stage = facts["jobs"]["drift_check"], facts["drift_windows"], facts["version"]["stage"]
    if not jobs and not windows and stage != "production":
        return Decision(
            NOT_APPLICABLE, f"the version is not in production (stage {stage}); drift is checked on production data"
        )
    done = [job for job in jobs if job["status"] == "succeeded"]
    if windows and not (done and done[0]["finished_at"] > windows[0]["finished_at"]):
        return _judge_window(windows[0], facts)
    if not jobs:
        return Decision(FAILED, "no drift check has been run on production data for this artifact")
    decision = _judge_job(jobs, facts, "drift check", ("stable",))
    if decision.status == FAILED and done and _fresh(done[0], facts) and done[0]["drifted_features"]:
        return Decision(FAILED, f"{decision.reason} in {', '.join(done[0]['drifted_features'])}", decision.evidence)
    return decision


def _judge_window(window: dict, facts: dict) -> Decision:
    pointer = ({"kind": "production_window", "id": window["id"], "sha256": window["result_sha256"]},)
    label = f"production window {window['id']} ({_day(window['window_start'])} to {_day(window['window_end'])})"
    if not _fresh(window, facts):
        days = facts["policy"]["evidence_max_age_days"]
        reason = f"{label} was checked on {_day(window['finished_at'])}, older than the policy's {days} days"
        return Decision(FAILED, reason, pointer)
    if window["verdict"] != "stable":
        return Decision(FAILED, f"{label} found drift: {window['reason']}", pointer)
    return Decision(PASSED, f"{label}, checked on {_day(window['finished_at'])}, is stable", pointer)


@rule
def performance_documented(facts: dict) -> Decision:
    metrics = facts["version"]["metrics"]
    if not metrics:
        return Decision(FAILED, "no accuracy metrics are recorded for this version")
    listed = ", ".join(f"{name}={value:g}" for name, value in sorted(metrics.items()))
    drift = drift_monitored(facts)
    if drift.status == NOT_APPLICABLE:
        return Decision(PASSED, f"metrics recorded ({listed}); {drift.reason}")
    return Decision(drift.status, f"metrics recorded ({listed}); {drift.reason}", drift.evidence)


def _missing_events(trail: dict) -> list[str]:
    found: dict[tuple[str, str], int] = {}
    for event in trail["events"]:
        key = (event["object_ref"], event["action"])
        found[key] = found.get(key, 0) + 1
    return [
        f"{want['action']} on {want['object_ref']} ({want['count']} expected, {found.get(key, 0)} found)"
        for want in trail["expected"]
        if found.get(key := (want["object_ref"], want["action"]), 0) < want["count"]
    ]


def _trail_pointers(trail: dict) -> tuple[dict, ...]:
    events = [{"kind": "audit_event", "seq": e["seq"], "hash": e["hash"]} for e in trail["events"]]
    checkpoint = trail["checkpoint"]
    last = trail["events"][-1]["seq"] if trail["events"] else 0
    covered = checkpoint is not None and checkpoint["size"] >= last
    return (*events, *([{"kind": "checkpoint", **checkpoint}] if covered else []))


@rule
def trail_verified(facts: dict) -> Decision:
    trail, stage = facts["trail"], facts["version"]["stage"]
    pointers = _trail_pointers(trail)
    if not trail["ok"]:
        return Decision(
            FAILED, f"the audit trail fails verification at seq {trail['bad_seq']}: {trail['reason']}", pointers
        )
    missing = _missing_events(trail)
    if missing:
        return Decision(FAILED, f"state changes without their event: {'; '.join(missing)}", pointers)
    if stage != "none" and trail["stage_reached"] != stage:
        return Decision(
            FAILED, f"the version's stage {stage} is not the outcome of any recorded stage change", pointers
        )
    sealed = any(p["kind"] == "checkpoint" for p in pointers)
    seal = "covered by a signed checkpoint" if sealed else "not yet covered by a signed checkpoint"
    reason = f"{len(trail['events'])} events of this version verify in a trail of {trail['size']} events, {seal}"
    return Decision(PASSED, reason, pointers)


def _stored(thing: dict | None, label: str) -> str | None:
    """The problem with one stored blob, or None when its bytes match the registered digest."""
    if thing is None:
        return None
    if thing["stored_sha256"] is None:
        return f"the {label}'s bytes are missing from storage"
    if thing["stored_sha256"] != thing["sha256"]:
        return (
            f"the stored {label} hashes to {thing['stored_sha256'][:12]}…, not the registered {thing['sha256'][:12]}…"
        )
    return None


@rule
def artifact_integrity(facts: dict) -> Decision:
    artifact, dataset = facts["artifact"], facts["dataset"]
    if artifact is None and dataset is None:
        return Decision(FAILED, "the version has neither an artifact nor an evaluation dataset to check")
    pointers = (
        *([{"kind": "artifact", "sha256": artifact["sha256"]}] if artifact else []),
        *([{"kind": "dataset", "id": dataset["id"], "sha256": dataset["sha256"]}] if dataset else []),
    )
    problems = [p for p in (_stored(artifact, "artifact"), _stored(dataset, "evaluation dataset")) if p]
    if problems:
        return Decision(FAILED, "; ".join(problems), pointers)
    checked = " and ".join(label for label, thing in (("artifact", artifact), ("evaluation dataset", dataset)) if thing)
    return Decision(PASSED, f"the stored {checked} match their registered SHA-256", pointers)


DOCUMENTATION = (
    ("intended use", lambda f: f["model"]["intended_use"]),
    ("description", lambda f: f["version"]["description"]),
    ("lineage", lambda f: f["version"]["lineage"]),
    ("metrics", lambda f: f["version"]["metrics"]),
    ("known limitations", lambda f: f["version"]["known_limitations"]),
    ("evaluation dataset", lambda f: f["dataset"]),
)


@rule
def technical_documentation_recorded(facts: dict) -> Decision:
    missing = [label for label, value in DOCUMENTATION if not value(facts)]
    if missing:
        return Decision(FAILED, f"the registry lacks this version's {', '.join(missing)}")
    return Decision(
        PASSED, "intended use, description, lineage, metrics, known limitations and evaluation data are recorded"
    )


def attestation_decision(attestation: dict | None, *, now) -> Decision:
    """A human item's status from its current attestation; an expired one leaves the item open again."""
    if attestation is None:
        return Decision(OPEN, "awaiting an attestation")
    pointer = ({"kind": "attestation", "id": attestation["id"], "sha256": attestation["statement_sha256"]},)
    expires = attestation["expires_at"]
    if expires is not None and expires <= now:
        return Decision(OPEN, f"attestation expired on {_day(expires)}", pointer)
    by = f"by {attestation['answered_by']} on {_day(attestation['answered_at'])}"
    until = f", valid until {_day(expires)}" if expires else ""
    status = {"met": PASSED, "not_met": FAILED, "not_applicable": NOT_APPLICABLE}[attestation["answer"]]
    return Decision(status, f"attested {attestation['answer'].replace('_', ' ')} {by}{until}", pointer)


def item_decision(item: dict, facts: dict, framework: str) -> Decision:
    if item["decided_by"] == "automatic":
        return RULES[item["rule"]](facts)
    current = facts["attestations"].get(framework, {}).get(item["id"])
    return attestation_decision(current, now=facts["now"])
