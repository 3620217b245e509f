"""Evidence jobs in the admin, for those who read everything: where each job stands, and the main numbers
its stored result holds. Read-only: jobs are requested through the API and written by workers."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html

from audits.admin import ReadOnlyAdmin, person_field
from core import evidence_store
from core.permissions import reads_everything
from evidence.models import EvidenceJob
from evidence.readings import SCALE, agreement_words

Status = EvidenceJob.Status
TOP_FEATURES = 10
LIME_ROWS_SHOWN = 10
GROUP_METRICS_FIRST = ("selection_rate", "mean_prediction", "true_positive_rate", "false_positive_rate", "accuracy")
CHART_TITLES = {
    "importance": "Mean |SHAP| per feature",
    "beeswarm": "SHAP values per row (beeswarm)",
    "selection_rate": "Selection rate per group, with 95 % intervals",
    "mean_prediction": "Mean prediction per group, with 95 % intervals",
}

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


def _interval(estimate: dict | None) -> str:
    """A bootstrap estimate as "value [low, high]"; "—" where the audit could not compute it."""
    estimate = estimate or {}
    low, high = (list(estimate.get("ci") or []) + [None, None])[:2]
    if estimate.get("value") is None:
        return "—"
    if low is None or high is None:
        return _number(estimate["value"])
    return f"{_number(estimate['value'])} [{_number(low)}, {_number(high)}]"


def _group_metrics(features: list[dict]) -> list[str]:
    """The metrics the groups carry, in a stable order: the headline ones first, then the rest by name."""
    found = {name for feature in features for group in feature.get("groups", []) for name in group.get("metrics", {})}
    first = [name for name in GROUP_METRICS_FIRST if name in found]
    return first + sorted(found - set(first))


def _checks_table(features: list[dict]) -> dict:
    return {
        "caption": "Checks with their limits and where each limit comes from",
        "header": ["feature", "check", "value", "limit", "source", "status"],
        "rows": [
            [
                feature["name"],
                check["name"],
                _number(check.get("value")),
                _number(check.get("threshold")),
                check.get("source") or "—",
                check["status"],
            ]
            for feature in features
            for check in feature["verdict"].get("checks", [])
        ],
    }


def _groups_table(features: list[dict]) -> dict:
    metrics = _group_metrics(features)
    return {
        "caption": "Per group, with 95 % bootstrap intervals (groups below the smallest size judged are not judged)",
        "header": ["feature", "group", "rows", "judged", *metrics],
        "rows": [
            [
                feature["name"],
                group["group"],
                group["count"],
                "no (too few rows)" if group.get("insufficient_data") else "yes",
                *(_interval(group.get("metrics", {}).get(name)) for name in metrics),
            ]
            for feature in features
            for group in feature.get("groups", [])
        ],
    }


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
            },
            _checks_table(features),
            _groups_table(features),
        ],
    }


def _lime_table(lime: dict) -> list[dict]:
    agreement = (lime or {}).get("agreement") or {}
    rows = agreement.get("rows") or []
    if not rows:
        return []
    return [
        {
            "caption": f"LIME and SHAP per explained row ({min(LIME_ROWS_SHOWN, len(rows))} of {len(rows)}): "
            f"{agreement.get('method', 'rank agreement')}",
            "header": ["row", "Spearman", "top feature (LIME)", "top feature (SHAP)"],
            "rows": [
                [row.get("index"), _number(row.get("spearman")), row.get("top_feature_lime"), row["top_feature_shap"]]
                for row in rows[:LIME_ROWS_SHOWN]
            ],
        }
    ]


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
            ("LIME and SHAP agreement (mean)", _agreement(agreement.get("mean"))),
            ("LIME and SHAP agreement (lowest row)", _agreement(agreement.get("min"), row=True)),
            ("rows where LIME and SHAP name the same top feature", _top_matches(agreement)),
        ],
        "tables": [
            {
                "caption": f"Top {min(TOP_FEATURES, len(importance))} of {len(importance)} features by mean |SHAP|",
                "header": ["feature", "mean |SHAP|"],
                "rows": [[item["feature"], _number(item["mean_abs_shap"])] for item in importance[:TOP_FEATURES]],
            },
            *_lime_table(result.get("lime")),
        ],
    }


def _agreement(rho: float | None, *, row: bool = False) -> str | None:
    """The figure with its reading: "-1: on this row they rank the features in opposite orders ..."."""
    if rho is None:
        return None
    where = "on this row " if row else "on average "
    return f"{_number(rho)}: {where}{agreement_words(rho)} ({SCALE})"


def _top_matches(summary: dict) -> str | None:
    compared = (summary.get("rows_compared") or 0) + (summary.get("rows_undefined") or 0)
    if not compared:
        return None
    return f"{summary.get('top_feature_matches', 0)} of {compared}"


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


def chart_url(job: EvidenceJob, name: str) -> str:
    return reverse("admin:evidence_evidencejob_chart", args=[job.pk, name])


def findings_context(job: EvidenceJob) -> dict | None:
    """What a finished job's findings show, as the findings template takes it (None before a result): its
    verdict, main numbers, tables and charts, each chart served from the evidence store by the admin."""
    if job.status != Status.SUCCEEDED or not job.result or job.kind not in FINDINGS:
        return None
    stored, known = (job.result.get("charts") or {}).keys(), list(CHART_TITLES)
    names = sorted(stored, key=lambda name: (known.index(name) if name in known else len(known), name))
    charts = [{"name": name, "title": CHART_TITLES.get(name, name), "url": chart_url(job, name)} for name in names]
    return {
        "verdict": job.verdict,
        "reasons": [],
        **FINDINGS[job.kind](job.result),
        "charts": charts,
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
        "requester",
        "created_at",
        "claimed_at",
        "heartbeat_at",
        "finished_at",
    ]
    readonly_fields = fields
    requester = person_field("requested_by", "requested by")

    class Media:
        css = {"all": ["evidence/findings.css"]}  # the findings' layout, without style attributes (CSP)

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
        context = findings_context(obj)
        if context is None:
            return f"No result recorded: the job is {obj.status}."
        return render_to_string("evidence/admin/findings.html", context)

    def get_urls(self):
        chart = self.admin_site.admin_view(self.chart_view)
        return [path("<int:pk>/charts/<slug:name>/", chart, name="evidence_evidencejob_chart"), *super().get_urls()]

    def chart_view(self, request, pk, name):
        """A chart of a finished job, from the evidence store (checked against its digest), for the pages above."""
        if not reads_everything(request.user):
            raise PermissionDenied
        job = get_object_or_404(EvidenceJob, pk=pk)
        digest = ((job.result or {}).get("charts") or {}).get(name)
        if not digest:
            raise Http404(f"Job {pk} has no chart {name!r}.")
        try:
            data = evidence_store.get(digest)
        except FileNotFoundError as exc:
            raise Http404(f"Chart {name!r} of job {pk} is not in the evidence store.") from exc
        response = HttpResponse(data, content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"  # the bytes behind a digest never change
        return response
