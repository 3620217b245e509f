"""The roles of the service, kept as Django groups (created by a data migration)."""

COMPLIANCE_OFFICER = "compliance_officer"
AUDITOR = "auditor"
CI = "ci"
DATA_SCIENTIST = "data_scientist"

ALL_ROLES = (COMPLIANCE_OFFICER, AUDITOR, CI, DATA_SCIENTIST)
# Service accounts are machines: they may never hold a role that decides.
SERVICE_ACCOUNT_ROLES = (CI,)

DESCRIPTIONS = {
    COMPLIANCE_OFFICER: "Reviews evidence, approves or rejects requests, answers attestations.",
    AUDITOR: "Reads everything, verifies the audit trail, downloads reports; changes nothing.",
    CI: "Service accounts: registers models and data, requests approval, queries gates; never approves.",
    DATA_SCIENTIST: "Registers models and data, requests approval, reads their own evidence.",
}


def roles_of(user) -> set[str]:
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))
