"""Why a stored bias audit does not pass, in words a pipeline can print. Django-free, and free of the audit's
libraries: it reads the JSON a finished job holds (``BiasAuditResult.to_dict()``), so the approval's checks can
say it without loading Fairlearn or AIF360."""

from collections.abc import Mapping

FAIL = "fail"


def bias_audit_blockers(result: Mapping | None) -> list[str]:
    """Each failing check with its feature, the groups it compared, its value and its limit (the check's detail
    says the last three, as ``selection rate ratio 0.61 (F 0.30 / M 0.49) is below the minimum 0.8 (...)``);
    for an audit that failed no check (inconclusive), the reasons it could not decide. Empty for a pass, or for a
    result that holds no verdict."""
    result = result or {}
    failing = [
        f"feature {feature.get('name')}, check {check.get('name')}: {check.get('detail')}"
        for feature in result.get("features") or []
        for check in (feature.get("verdict") or {}).get("checks") or []
        if check.get("status") == FAIL
    ]
    return failing or [str(reason) for reason in (result.get("verdict") or {}).get("reasons") or []]
