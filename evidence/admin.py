"""Evidence jobs in the admin, for those who read everything: where each job stands, and the main numbers
its stored result holds. Read-only: jobs are requested through the API and written by workers."""

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.html import format_html

from audits.admin import ReadOnlyAdmin
from core.permissions import reads_everything
from evidence.models import EvidenceJob

Status = EvidenceJob.Status
TOP_FEATURES = 10

PROGRESS_HELP = (
    "Rows: none until the job has loaded them, then done of total. The rows count as done only once the "
    "result is recorded, so a bias audit, drift check or small explanation reads 0 until it finishes; a "
    "chunked explanation counts each chunk's rows, then merges. A queued job has not started."
)


def progress_shown(job: EvidenceJob) -> tuple[int, int, int, str]:
    """(done, total, percent, words). Never 100 % before the result is recorded; queued is 0 of 0, whatever
    an earlier attempt counted (the API reports the same)."""
    done, total = job.progress_done, job.progress_total
    if job.status == Status.QUEUED:
        return 0, 0, 0, "queued"
    percent = done * 100 // total if total else 0
    if job.status == Status.SUCCEEDED:
        return done, total, 100, f"succeeded: {done} of {total} rows"
    if job.status == Status.FAILED:
        return done, total, percent, f"failed after {done} of {total} rows"
    if not total:
        return 0, 0, 0, "running: loading rows"
    if done >= total:
        return done, total, 99, f"running: {total} of {total} rows computed, recording the result"
    return done, total, min(percent, 99), f"running: {done} of {total} rows computed"


def _number(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _check(check: dict) -> str:
    return f"{check['name']} {_number(check['value'])} (limit {_number(check['threshold'])}): {check['status']}"


def _bias(result: dict) -> dict:
    features = result.get("features", [])
    return {
        "facts": [("rows", result.get("n_rows")), ("smallest group judged", result.get("min_group_size"))],
        "reasons": result["verdict"].get("reasons", []),
        "tables": [
            {
                "caption": "Verdict per sensitive feature",
                "header": ["feature", "verdict", "checks", "groups (rows)", "reasons"],
                "rows": [
                    [
                        feature["name"],
                        feature["verdict"]["status"],
                        "; ".join(_check(check) for check in feature["verdict"].get("checks", [])) or "—",
                        ", ".join(f"{group['group']} ({group['count']})" for group in feature.get("groups", [])),
                        "; ".join(feature["verdict"].get("reasons", [])) or "—",
                    ]
                    for feature in features
                ],
            }
        ],
    }


def _explanation(result: dict) -> dict:
    additivity = result.get("additivity") or {}
    importance = result.get("importance", [])
    agreement = ((result.get("lime") or {}).get("agreement") or {}).get("summary") or {}
    return {
        "facts": [
            ("explainer", result.get("explainer") or (result.get("choice") or {}).get("kind")),
            ("rows explained", result.get("rows_explained")),
            ("output explained", result.get("output_space")),
            ("additivity", "passed" if additivity.get("passed") else "failed"),
            ("largest additivity error", _number(additivity.get("max_abs_error"))),
            ("LIME and SHAP agreement (mean)", _number(agreement.get("mean"))),
        ],
        "tables": [
            {
                "caption": f"Top {min(TOP_FEATURES, len(importance))} of {len(importance)} features by mean |SHAP|",
                "header": ["feature", "mean |SHAP|"],
                "rows": [[item["feature"], _number(item["mean_abs_shap"])] for item in importance[:TOP_FEATURES]],
            }
        ],
    }


def _drift(result: dict) -> dict:
    features = result.get("features", {})
    drifted = result.get("drifted_features", [])
    return {
        "facts": [
            ("reference rows", result.get("n_reference")),
            ("current rows", result.get("n_current")),
            ("PSI alert at", _number(result.get("psi_alert"))),
            ("drifted features", ", ".join(drifted) or "none"),
        ],
        "tables": [
            {
                "caption": "Per feature",
                "header": ["feature", "status", "PSI"],
                "rows": [[name, entry.get("status"), _number(entry.get("psi"))] for name, entry in features.items()],
            }
        ],
    }


FINDINGS = {
    EvidenceJob.Kind.BIAS_AUDIT: _bias,
    EvidenceJob.Kind.EXPLANATION: _explanation,
    EvidenceJob.Kind.DRIFT_CHECK: _drift,
}


@admin.register(EvidenceJob)
class EvidenceJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "model_version", "dataset", "status", "progress_bar", "verdict", "created_at"]
    list_display += ["finished_at", "short_error"]
    list_filter = ["status", "kind", "verdict"]
    search_fields = ["version__model__name"]
    list_select_related = ["version__model", "dataset"]
    fields = [
        "kind",
        "model_version",
        "dataset",
        "reference",
        "status",
        "progress_bar",
        "verdict",
        "findings",
        "result_sha256",
        "artifact_sha256",
        "dataset_sha256",
        "params",
        "error",
        "attempts",
        "requested_by",
        "created_at",
        "claimed_at",
        "finished_at",
    ]
    readonly_fields = fields

    def has_module_permission(self, request) -> bool:
        return reads_everything(request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["help_texts"] = {"progress_bar": PROGRESS_HELP}
        return super().get_form(request, obj, change=change, **kwargs)

    def has_view_permission(self, request, obj=None) -> bool:
        return reads_everything(request.user)

    @admin.display(description="model version", ordering="version__model__name")
    def model_version(self, obj) -> str:
        return f"{obj.version.model.name} {obj.version.version}"

    @admin.display(description="progress")
    def progress_bar(self, obj) -> str:
        done, total, percent, words = progress_shown(obj)
        return format_html(
            '<progress value="{}" max="{}" title="{}">{} %</progress> {} ({} %)',
            done,
            total or 1,
            PROGRESS_HELP,
            percent,
            words,
            percent,
        )

    @admin.display(description="error")
    def short_error(self, obj) -> str:
        return obj.error[:120] + ("…" if len(obj.error) > 120 else "") if obj.error else "—"

    @admin.display(description="findings (from the stored result)")
    def findings(self, obj) -> str:
        if obj.status != Status.SUCCEEDED or not obj.result:
            return f"No result recorded: the job is {obj.status}."
        context = {"verdict": obj.verdict, "reasons": [], **FINDINGS[obj.kind](obj.result)}
        return render_to_string("evidence/admin/findings.html", context)
