"""What a failed or inconclusive bias audit tells a pipeline: each failing check by feature, groups, value and
limit, read from the stored result alone."""

from evidence.bias_blockers import bias_audit_blockers

DETAIL = "selection rate ratio 0.5000 (F 0.3000 / M 0.6000) is below the minimum 0.8 (four-fifths rule)"


def _feature(name: str, *checks: dict, reasons=()) -> dict:
    return {"name": name, "verdict": {"status": "fail", "reasons": list(reasons), "checks": list(checks)}}


def test_each_failing_check_is_named_with_its_feature_and_detail():
    result = {
        "features": [
            _feature("sex", {"name": "min_selection_rate_ratio", "status": "fail", "detail": DETAIL}),
            _feature("race", {"name": "min_selection_rate_ratio", "status": "pass", "detail": "meets"}),
        ],
        "verdict": {"status": "fail", "reasons": ["sex: min_selection_rate_ratio: ..."]},
    }
    assert bias_audit_blockers(result) == [f"feature sex, check min_selection_rate_ratio: {DETAIL}"]


def test_an_inconclusive_audit_gives_its_reasons():
    reasons = ["sex: insufficient data: group 'X' has 3 rows"]
    assert bias_audit_blockers({"features": [], "verdict": {"status": "inconclusive", "reasons": reasons}}) == reasons


def test_a_result_without_a_verdict_blocks_with_nothing_to_add():
    assert bias_audit_blockers({}) == [] and bias_audit_blockers(None) == []
