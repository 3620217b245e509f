"""The groups of the API documentation, one per task a reader comes with. Django-free: settings read it
(drf-spectacular's ``TAGS``, their order and descriptions) and ``core.schema`` tags each operation with it."""

# Not by the URL's first segment after the prefix, which is "v1" for every operation: (tag, description,
# the path segments it covers), in the order the documentation lists them.
TASKS = (
    ("Registry", "Models, their versions and data sets.", ("models", "datasets")),
    ("Accounts and tokens", "Who you are, your personal tokens, service accounts for CI.", ("me", "service-accounts")),
    ("Audit trail", "The hash-chained events, checkpoints, verification, export and erasure.", ("audit",)),
    (
        "Approvals and waivers",
        "Approval requests and decisions, the policies per risk tier, evidence waivers.",
        ("approval-requests", "policies", "waivers"),
    ),
    ("Evidence", "Explanations, bias audits, drift checks: their jobs, findings and charts.", ("evidence",)),
    ("Monitoring", "Production windows and the monitors' verdicts, the monitoring policies.", ("monitoring",)),
    (
        "Reports and checklists",
        "Framework checklists, attestations, model cards and their PDFs.",
        ("reports", "checklists", "attestations", "frameworks"),
    ),
    (
        "Stages, deployments and the gate",
        "Moving a version between stages, the deployment gate, deployments, rollback.",
        ("stage", "gate", "deployments", "rollback"),
    ),
    ("Webhooks", "Subscriptions to the trail's events and their deliveries.", ("webhooks",)),
)
OPENAPI_TAGS = [{"name": name, "description": description} for name, description, _ in TASKS]


_TAG_OF = {segment: name for name, _, segments in TASKS for segment in segments}


def task_tag(path: str) -> str:
    """The documentation group of an API path: its first named segment (`/monitoring/policies/` is
    Monitoring), except under a model, where the deepest one speaks (`/models/{name}/versions/{version}/gate/`
    is the gate's)."""
    named = [_TAG_OF[segment] for segment in path.strip("/").split("/") if segment in _TAG_OF]
    if not named:
        return "Other"
    return named[-1] if named[0] == "Registry" else named[0]
