"""Model-card reports: requested with their audit event, rendered by a worker, finished exactly once.

A report's state is its row, as for evidence jobs (audits/jobs.py): enqueued after commit, re-enqueued by
the sweep when the broker missed it or its worker died, claimed with a conditional UPDATE. The card is
built as of the request (the row's created_at, and the audit trail up to the report.requested event), so
the inputs are those that existed when it was asked for. The PDF is kept under its SHA-256 in REPORT_ROOT.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from audits.models import AuditEvent
from audits.services import actor_for, audit_event_append, object_ref
from core import evidence_store
from core.blobs import blob_path, keep
from core.errors import DomainError
from core.permissions import model_write_check
from core.rowjobs import row_claim, row_claimed, row_enqueue, row_fail, row_heartbeat, row_sweep
from reports.models import Report

if TYPE_CHECKING:  # WeasyPrint loads on first use, in the worker that renders, not in every process
    from reports.render import RenderedPdf

log = logging.getLogger(__name__)


def _render():
    """reports.render, imported when first needed: importing WeasyPrint costs every process that loads
    this module (the web server, the admin) time and memory it never uses."""
    from reports import render

    return render


Status = Report.Status
COMBINED = Report.Scope.COMBINED
ANNEX_IV = Report.Scope.ANNEX_IV


def _facts(report: Report) -> dict:
    version = report.version
    return {
        "report": report.pk,
        "model": version.model.name,
        "version": version.version,
        "scope": report.scope,
        "artifact_sha256": version.artifact.sha256 if version.artifact else None,
    }


def _check_scope(version, scope: str) -> None:
    from reports.checklists import applicable_frameworks

    applicable = sorted(applicable_frameworks(version.model))
    # Annex IV documents a high-risk system under the EU AI Act, so it goes with that framework.
    annex = [ANNEX_IV] if "eu_ai_act" in applicable else []
    if scope == COMBINED or scope in applicable or scope in annex:
        return
    known = scope in Report.Scope.values
    problem = "does not apply to this model" if known else "is not a framework"
    choices = ", ".join([*applicable, COMBINED, *annex])
    raise DomainError(
        "invalid", f"scope: {scope!r} {problem}; choose one of {choices}.", fields={"scope": [f"One of {choices}."]}
    )


@transaction.atomic
def report_request(*, version, scope: str, user) -> Report:
    model_write_check(user, version.model)
    _check_scope(version, scope)
    report = Report.objects.create(version=version, scope=scope, requested_by=actor_for(user))
    audit_event_append(
        actor=report.requested_by, action="report.requested", object_ref=object_ref(report), data=_facts(report)
    )
    transaction.on_commit(lambda: enqueue(report.pk))
    return report


def enqueue(report_pk: int) -> bool:
    from reports.tasks import render_report

    return row_enqueue(Report, report_pk, render_report.delay)


def report_claim(report_pk: int) -> Report | None:
    if not row_claim(Report, report_pk):
        return None
    return Report.objects.select_related("version__model", "version__artifact").get(pk=report_pk)


def chart_bytes(card: dict) -> dict[str, bytes]:
    """The card's charts from the evidence store, each checked against its digest."""
    return {digest: evidence_store.get(digest) for digest in _render().chart_digests(card)}


def store_pdf(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    root = Path(settings.REPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=root, prefix=".incoming-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    keep(Path(name), root=root, sha256=digest)
    return digest


@transaction.atomic
def report_finish(report: Report, *, card: dict, rendered: RenderedPdf) -> Report:
    inputs_sha256 = _render().card_sha256(card)
    updated = row_claimed(Report, report).update(  # by the claim that rendered it, not a stalled worker
        status=Status.SUCCEEDED,
        inputs=card,
        inputs_sha256=inputs_sha256,
        pdf_sha256=rendered.sha256,
        pdf_size=len(rendered.data),
        pages=rendered.pages,
        finished_at=timezone.now(),
        error="",
    )
    if updated:  # finished once, whatever happens to the message afterwards
        audit_event_append(
            actor="system",
            action="report.rendered",
            object_ref=object_ref(report),
            data={
                **_facts(report),
                "pdf_sha256": rendered.sha256,
                "inputs_sha256": inputs_sha256,
                "pages": rendered.pages,
                "size": len(rendered.data),
                **({"ml_bom_sha256": card["ml_bom"]["sha256"]} if card.get("ml_bom") else {}),
                "renderer": _render().renderer(),
            },
        )
    return Report.objects.get(pk=report.pk)


@transaction.atomic
def report_fail(report: Report, *, message: str) -> Report:
    if row_fail(Report, report.pk, message=message, attempt=report.attempts):
        audit_event_append(
            actor="system",
            action="report.failed",
            object_ref=object_ref(report),
            data={**_facts(report), "error": message[:500]},
        )
    return Report.objects.get(pk=report.pk)


def requested_seq(report: Report) -> int | None:
    events = AuditEvent.objects.filter(action="report.requested", object_ref=object_ref(report))
    return events.values_list("seq", flat=True).first()


# A render's steps, in order, with what each does; the admin's progress bar counts the ones behind it.
STEPS = {
    "building": "gathering the evidence, checklists and trail into the card",
    "rendering": "rendering the PDF",
    "storing": "keeping the PDF in the report store",
}


def report_step(report: Report, step: str) -> None:
    """Records the step a running render has reached (visible at once: the worker is outside a transaction)."""
    if step not in STEPS:
        raise ValueError(f"unknown report step {step!r}")
    Report.objects.filter(pk=report.pk, status=Status.RUNNING).update(step=step)


def report_build_and_render(report: Report) -> tuple[dict, RenderedPdf]:
    from reports.card import annex_iv_build, card_build
    from reports.mlbom_issue import ml_bom_section

    report_step(report, "building")
    build = annex_iv_build if report.scope == ANNEX_IV else card_build
    card = build(version=report.version, scope=report.scope, as_of=report.created_at, until_seq=requested_seq(report))
    card["ml_bom"] = ml_bom_section(report.version, as_of=report.created_at)
    report_step(report, "rendering")
    return card, _render().render_card_pdf(card, chart_bytes(card))


def report_run(report_pk: int) -> str | None:
    """The worker's whole job: claim, build the card, render, keep the PDF, finish (or fail, visibly)."""
    report = report_claim(report_pk)
    if report is None:
        return None  # someone else has it, or it is done: a duplicate message changes nothing
    with row_heartbeat(row_claimed(Report, report)):
        return _report_run_claimed(report)


def _report_run_claimed(report: Report) -> str:
    try:
        card, rendered = report_build_and_render(report)
        report_step(report, "storing")
        store_pdf(rendered.data)
        return report_finish(report, card=card, rendered=rendered).status
    except OperationalError:
        Report.objects.filter(pk=report.pk, status=Status.RUNNING).update(status=Status.QUEUED, step="")
        raise  # transient: the task retries with backoff
    except Exception as exc:  # any failure ends the report visibly, never "running" forever
        log.exception("report %s failed", report.pk)
        return report_fail(report, message=f"{type(exc).__name__}: {exc}").status


def report_sweep(*, now=None) -> dict:
    """Beat: enqueue reports the broker never got; requeue or fail reports whose worker died."""
    return row_sweep(Report, enqueue=enqueue, fail=report_fail, related=("version__model",), now=now)


def _rerender(report: Report) -> tuple[str, str]:
    """The SHA-256 of the PDF rendered again from the recorded inputs, or "" and why it could not be."""
    try:
        return _render().render_card_pdf(report.inputs, chart_bytes(report.inputs)).sha256, ""
    except Exception as exc:  # a missing or altered chart is itself the finding
        return "", f"{type(exc).__name__}: {exc}"


def _require_rendered(report: Report, doing: str) -> None:
    if report.status != Status.SUCCEEDED or not report.inputs:
        raise DomainError(
            "not_rendered",
            f"Report {report.pk} is {report.status}; only a rendered report is {doing}.",
            status_code=409,
        )


def report_rederive_request(*, report: Report, user) -> None:
    """Queues a re-derivation (in-process in the embedded default)."""
    from reports.tasks import rederive_report

    _require_rendered(report, "re-derived")
    try:
        rederive_report.delay(report.pk, user.pk)
    except OperationalError:
        raise
    except Exception as exc:
        raise DomainError("unavailable", "The job queue is unavailable; try again later.", status_code=503) from exc


def report_rederive(*, report: Report, user) -> Report:
    """Renders the report again from its recorded inputs (never the live database) and compares the bytes."""
    _require_rendered(report, "re-derived")
    digest, problem = _rerender(report)
    matches = digest == report.pdf_sha256
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(
            rederived_at=timezone.now(), rederived_sha256=digest, rederive_matches=matches
        )
        data = {
            **_facts(report),
            "pdf_sha256": report.pdf_sha256,
            "rederived_sha256": digest or None,
            "match": matches,
            "inputs_sha256": report.inputs_sha256,
            "inputs_match": _render().card_sha256(report.inputs) == report.inputs_sha256,
            "renderer": _render().renderer(),
        }
        if problem:
            data["error"] = problem[:500]
        audit_event_append(actor=actor_for(user), action="report.rederived", object_ref=object_ref(report), data=data)
    return Report.objects.select_related("version__model", "version__artifact").get(pk=report.pk)


def report_filename(report: Report) -> str:
    kind = "technical-documentation" if report.scope == ANNEX_IV else f"{report.scope}-model-card"
    return f"{report.version.model.name}-{report.version.version}-{kind}.pdf"


def report_pdf_path(report: Report) -> Path:
    path = blob_path(Path(settings.REPORT_ROOT), report.pdf_sha256)
    if not path.exists():
        raise DomainError("missing", f"The PDF of report {report.pk} is not in the report store.", status_code=410)
    return path


def report_download(*, report: Report, user, via: str, what: str = "pdf") -> Report:
    """Every download is an audit event, written before the first byte leaves."""
    _require_rendered(report, "downloaded")
    if what == "pdf":
        report_pdf_path(report)
    audit_event_append(
        actor=actor_for(user),
        action="report.downloaded",
        object_ref=object_ref(report),
        data={
            **_facts(report),
            "pdf_sha256": report.pdf_sha256,
            "inputs_sha256": report.inputs_sha256,
            "via": via,
            "what": what,
        },
    )
    return report
