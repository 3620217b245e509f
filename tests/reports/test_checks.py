"""The automatic rules and the reading of attestations, on hand-built facts (no database)."""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from reports.checks import RULES, attestation_decision
from reports.proxies import category_of, sensitive_looking

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SHA = "a" * 64


def _job(kind, verdict, *, id=1, status="succeeded", age_days=1, **extra):
    return {
        "id": id,
        "kind": kind,
        "status": status,
        "verdict": verdict,
        "result_sha256": "r" * 64,
        "finished_at": NOW - timedelta(days=age_days) if status == "succeeded" else None,
        "error": extra.pop("error", ""),
        "thresholds": extra.pop("thresholds", {"min_selection_rate_ratio": 0.8, "max_equalized_odds_difference": 0.1}),
        "rows_explained": extra.pop("rows_explained", 400),
        "drifted_features": extra.pop("drifted_features", []),
    }


BASE = {
    "now": NOW,
    "model": {"name": "credit", "intended_use": "Consumer credit pre-screening"},
    "version": {
        "id": 7,
        "version": "1.0.0",
        "stage": "none",
        "description": "Logistic regression",
        "metrics": {"auc": 0.81},
        "lineage": {"code_commit": "a1b2c3d"},
        "known_limitations": "Not for business loans",
    },
    "artifact": {"sha256": SHA, "stored_sha256": SHA},
    "dataset": {
        "id": 3,
        "sha256": "d" * 64,
        "stored_sha256": "d" * 64,
        "features": ["income", "debt_ratio"],
        "sensitive_features": ["sex"],
        "target": "default",
    },
    "policy": {"evidence_max_age_days": 180, "min_selection_rate_ratio": 0.8, "max_equalized_odds_difference": 0.1},
    "jobs": {
        "explanation": [_job("explanation", "done", id=1)],
        "bias_audit": [_job("bias_audit", "pass", id=2)],
        "drift_check": [],
    },
    "drift_windows": [],
    "waivers": {"bias_audit": None},
    "trail": {
        "ok": True,
        "size": 12,
        "head": "h" * 64,
        "bad_seq": None,
        "reason": None,
        "events": [{"seq": 4, "hash": "e" * 64, "action": "model_version.registered", "object_ref": "v"}],
        "expected": [{"object_ref": "v", "action": "model_version.registered", "count": 1}],
        "stage_reached": None,
        "checkpoint": {"size": 12, "head": "h" * 64},
    },
    "attestations": {},
}


def facts(**changes) -> dict:
    """BASE with dotted-path changes: facts(**{"version.stage": "production"})."""
    out = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        target = out
        for key in parents:
            target = target[key]
        target[leaf] = value
    return out


def test_every_rule_passes_on_complete_evidence():
    for name, rule in RULES.items():
        assert rule(facts()).status in ("passed", "not_applicable"), name


def test_a_failed_bias_audit_fails_with_the_job_as_evidence():
    decision = RULES["bias_audit_passed"](facts(**{"jobs.bias_audit": [_job("bias_audit", "fail", id=9)]}))
    assert decision.status == "failed"
    assert "verdict is fail" in decision.reason
    assert decision.evidence == ({"kind": "evidence_job", "id": 9, "job_kind": "bias_audit", "sha256": "r" * 64},)


def test_a_waiver_passes_the_bias_item_and_names_itself_but_not_section_1557():
    waiver = {"id": 4, "granted_by": "user:5", "expires_at": NOW + timedelta(days=30)}
    given = facts(**{"jobs.bias_audit": [_job("bias_audit", "fail")], "waivers.bias_audit": waiver})
    decision = RULES["bias_audit_passed"](given)
    assert decision.status == "passed"
    assert decision.reason.startswith("waived by user:5 until 2026-12-23 (waiver 4); without it:")
    assert {"kind": "waiver", "id": 4} in decision.evidence
    mitigated = RULES["discrimination_risk_mitigated"](given)
    assert mitigated.status == "failed"
    assert "a waiver of the bias audit does not meet this item" in mitigated.reason


def test_evidence_older_than_the_policy_allows_does_not_count():
    stale = facts(**{"jobs.explanation": [_job("explanation", "done", age_days=181)]})
    decision = RULES["explanation_available"](stale)
    assert decision.status == "failed"
    assert "older than the policy's 180 days" in decision.reason


def test_an_audit_judged_against_laxer_thresholds_does_not_count():
    lax = _job("bias_audit", "pass", thresholds={"min_selection_rate_ratio": 0.5, "max_equalized_odds_difference": 0.1})
    decision = RULES["bias_audit_passed"](facts(**{"jobs.bias_audit": [lax]}))
    assert decision.status == "failed"
    assert "laxer thresholds" in decision.reason


def test_a_running_job_leaves_the_item_open_and_a_missing_one_fails_it():
    running = facts(**{"jobs.bias_audit": [_job("bias_audit", "", status="running")]})
    assert RULES["bias_audit_passed"](running).status == "open"
    missing = RULES["explanation_available"](facts(**{"jobs.explanation": []}))
    assert (missing.status, missing.reason) == ("failed", "no explanation has been produced for this artifact")


def test_the_newest_finished_job_decides_over_an_older_one():
    jobs = [_job("bias_audit", "fail", id=5, age_days=1), _job("bias_audit", "pass", id=4, age_days=2)]
    assert RULES["bias_audit_passed"](facts(**{"jobs.bias_audit": jobs})).status == "failed"


def test_recorded_predictions_cannot_be_explained():
    decision = RULES["explanation_available"](facts(artifact=None))
    assert decision.status == "failed"
    assert "recorded predictions" in decision.reason


def test_sensitive_inputs_must_all_be_flagged_and_are_named():
    given = facts(**{"dataset.features": ["income", "age", "zip_code"], "dataset.sensitive_features": ["sex", "age"]})
    decision = RULES["sensitive_inputs_flagged"](given)
    assert decision.status == "failed"
    assert "zip_code (postcode, a proxy for ethnic origin)" in decision.reason
    assert "age" not in decision.reason.split(":", 1)[1]


def test_name_based_proxy_detection_splits_words():
    assert category_of("dateOfBirth") == "age"
    assert category_of("usage_minutes") is None
    assert category_of("mortgage") is None
    assert category_of("Ethnicity") == "racial or ethnic origin"
    assert sensitive_looking(["income", "diagnosis_code", "postCode"]) == {
        "diagnosis_code": "health",
        "postCode": "postcode, a proxy for ethnic origin",
    }


def test_drift_is_not_applicable_before_production_and_fails_when_detected():
    assert RULES["drift_monitored"](facts()).status == "not_applicable"
    assert RULES["drift_monitored"](facts(**{"version.stage": "production"})).status == "failed"
    drifted = _job("drift_check", "drift", drifted_features=["income"])
    decision = RULES["drift_monitored"](facts(**{"jobs.drift_check": [drifted]}))
    assert (decision.status, decision.reason) == ("failed", "the drift check (job 1) verdict is drift in income")
    assert RULES["performance_documented"](facts(**{"jobs.drift_check": [drifted]})).status == "failed"


def _window(verdict, *, id=9, age_days=1, reason="feature_drift: PSI >= 0.2 on age"):
    finished = NOW - timedelta(days=age_days)
    start = finished - timedelta(days=8)
    return {
        "id": id,
        "window_start": start,
        "window_end": start + timedelta(days=7),
        "finished_at": finished,
        "verdict": verdict,
        "reason": reason,
        "drifted_features": ["age"] if verdict == "drift" else [],
        "result_sha256": "w" * 64,
    }


def test_a_checked_production_window_is_a_drift_check():
    """Right after production windows flagged drift, the item says so, never 'no drift check has been run'."""
    production = {"version.stage": "production"}
    decision = RULES["drift_monitored"](facts(**production, drift_windows=[_window("drift")]))
    assert decision.status == "failed" and "no drift check" not in decision.reason
    assert decision.reason.startswith("production window 9 (") and "found drift: feature_drift" in decision.reason
    assert decision.evidence == ({"kind": "production_window", "id": 9, "sha256": "w" * 64},)
    assert RULES["drift_monitored"](facts(**production, drift_windows=[_window("stable")])).status == "passed"
    stale = RULES["drift_monitored"](facts(**production, drift_windows=[_window("stable", age_days=200)]))
    assert stale.status == "failed" and "older than the policy's 180 days" in stale.reason


def test_the_more_recent_of_a_drift_job_and_a_window_speaks():
    older_window = _window("drift", age_days=5)
    newer_job = _job("drift_check", "stable", age_days=1)
    decision = RULES["drift_monitored"](facts(**{"jobs.drift_check": [newer_job]}, drift_windows=[older_window]))
    assert decision.status == "passed" and "job 1" in decision.reason
    older_job = _job("drift_check", "stable", age_days=9)
    decision = RULES["drift_monitored"](facts(**{"jobs.drift_check": [older_job]}, drift_windows=[older_window]))
    assert decision.status == "failed" and "production window 9" in decision.reason


def test_performance_needs_recorded_metrics():
    assert RULES["performance_documented"](facts(**{"version.metrics": {}})).status == "failed"


def test_a_broken_or_incomplete_trail_fails():
    broken = RULES["trail_verified"](facts(**{"trail.ok": False, "trail.bad_seq": 3, "trail.reason": "hash mismatch"}))
    assert (broken.status, broken.reason) == ("failed", "the audit trail fails verification at seq 3: hash mismatch")
    wanted = [*BASE["trail"]["expected"], {"object_ref": "r", "action": "approval.decided", "count": 2}]
    missing = RULES["trail_verified"](facts(**{"trail.expected": wanted}))
    assert "approval.decided on r (2 expected, 0 found)" in missing.reason
    unrecorded = RULES["trail_verified"](facts(**{"version.stage": "production"}))
    assert "stage production is not the outcome of any recorded stage change" in unrecorded.reason


def test_a_verified_trail_points_at_its_events_and_the_covering_checkpoint():
    decision = RULES["trail_verified"](facts())
    assert decision.status == "passed"
    assert decision.evidence == (
        {"kind": "audit_event", "seq": 4, "hash": "e" * 64},
        {"kind": "checkpoint", "size": 12, "head": "h" * 64},
    )
    uncovered = RULES["trail_verified"](facts(**{"trail.checkpoint": {"size": 3, "head": "x" * 64}}))
    assert "not yet covered by a signed checkpoint" in uncovered.reason


def test_integrity_compares_the_stored_bytes_with_the_registered_digests():
    tampered = RULES["artifact_integrity"](facts(**{"artifact.stored_sha256": "b" * 64}))
    assert tampered.status == "failed"
    assert "the stored artifact hashes to bbbbbbbbbbbb" in tampered.reason
    gone = RULES["artifact_integrity"](facts(**{"dataset.stored_sha256": None}))
    assert "the evaluation dataset's bytes are missing from storage" in gone.reason


def test_technical_documentation_names_what_is_missing():
    decision = RULES["technical_documentation_recorded"](facts(**{"version.known_limitations": "", "dataset": None}))
    assert decision.reason == "the registry lacks this version's known limitations, evaluation dataset"


@pytest.mark.parametrize(
    ("answer", "status"), [("met", "passed"), ("not_met", "failed"), ("not_applicable", "not_applicable")]
)
def test_an_attestation_decides_its_item_until_it_expires(answer, status):
    attestation = {
        "id": 8,
        "answer": answer,
        "statement_sha256": "s" * 64,
        "answered_by": "user:2",
        "answered_at": NOW,
        "expires_at": NOW + timedelta(days=10),
    }
    decision = attestation_decision(attestation, now=NOW)
    assert decision.status == status
    assert decision.evidence == ({"kind": "attestation", "id": 8, "sha256": "s" * 64},)
    expired = attestation_decision(attestation, now=NOW + timedelta(days=10))
    assert (expired.status, expired.reason) == ("open", "attestation expired on 2026-12-03")
    assert attestation_decision(None, now=NOW).reason == "awaiting an attestation"
