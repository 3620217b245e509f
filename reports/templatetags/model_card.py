"""Formatting for the model card templates: numbers, intervals, digests and evidence pointers."""

import json

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()
DASH = "\u2014"
DIGEST_SHOWN = 16


def _number(value) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 10000 or abs(value) < 0.001):
            return f"{value:.3g}"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


@register.filter
def num(value) -> str:
    return _number(value)


@register.filter
def interval(estimate) -> str:
    """An estimate as "value [low, high]"; the interval is left out where the evidence has none."""
    if not estimate:
        return DASH
    low, high = estimate.get("ci") or [None, None]
    shown = _number(estimate.get("value"))
    return shown if low is None or high is None else f"{shown} [{_number(low)}, {_number(high)}]"


@register.filter
def label(value) -> str:
    return str(value).replace("_", " ") if value is not None else DASH


@register.filter
def short(digest) -> str:
    return f"{digest[:DIGEST_SHOWN]}\u2026" if digest and len(digest) > DIGEST_SHOWN else (digest or DASH)


@register.filter
def plain(value) -> str:
    """Scalars as text, structures as compact JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    return DASH if value in (None, "") else str(value)


POINTERS = {
    "evidence_job": lambda p: f"job {p.get('id')} ({label(p.get('job_kind'))}) {short(p.get('sha256'))}",
    "audit_event": lambda p: f"event #{p.get('seq')} {short(p.get('hash'))}",
    "checkpoint": lambda p: f"checkpoint @{p.get('size')} {short(p.get('head'))}",
    "attestation": lambda p: f"attestation {p.get('id')} {short(p.get('sha256'))}",
    "artifact": lambda p: f"artifact {short(p.get('sha256'))}",
    "dataset": lambda p: f"dataset {p.get('id')} {short(p.get('sha256'))}",
    "waiver": lambda p: f"waiver {p.get('id')}",
    "production_window": lambda p: f"window {p.get('id')} {short(p.get('sha256'))}",
    "model_version": lambda p: f"registry: {p.get('model')} {p.get('version')}",
    "approval_request": lambda p: f"approval request {p.get('id')}",
    "model_signature": lambda p: f"signature by {p.get('signer')} {short(p.get('sha256'))}",
}


@register.filter
def pointer(value) -> str:
    kind = (value or {}).get("kind")
    return POINTERS[kind](value) if kind in POINTERS else plain(value)


@register.filter
def pointer_lines(pointers) -> str:
    """Evidence pointers one to a line, for a cell styled white-space: pre-line (no element per pointer)."""
    return "\n".join(pointer(p) for p in pointers)


@register.filter
def status_class(value) -> str:
    return {
        "passed": "ok",
        "pass": "ok",
        "stable": "ok",
        "done": "ok",
        "met": "ok",
        "approve": "ok",
        "approved": "ok",
        "failed": "bad",
        "fail": "bad",
        "drift": "bad",
        "not_met": "bad",
        "reject": "bad",
        "rejected": "bad",
        "additivity_failed": "bad",
        "open": "warn",
        "inconclusive": "warn",
        "pending": "warn",
        "insufficient_data": "warn",
        "alert": "bad",
        "ok": "ok",
    }.get(str(value), "neutral")


@register.filter
def interval_lines(estimate) -> str:
    """The same on two lines (value, then interval), for tables with many columns. The interval's span starts
    with a line feed that its style keeps (white-space: pre-line): a <br> would be one more element to style
    and lay out in every cell of the fairness tables."""
    if not estimate:
        return DASH
    low, high = estimate.get("ci") or [None, None]
    shown = escape(_number(estimate.get("value")))
    if low is None or high is None:
        return shown
    return mark_safe(f'{shown}<span class="ci">\n[{escape(_number(low))}, {escape(_number(high))}]</span>')  # noqa: S308


@register.filter
def percent(value) -> str:
    return DASH if value is None else f"{value * 100:g}%"


@register.filter
def digests(value) -> str:
    """A dict of evidence digests as "key value" pairs, hex digests shortened (the JSON holds them whole)."""
    if not isinstance(value, dict):
        return plain(value)
    parts = []
    for key in sorted(value):
        item = value[key]
        shown = short(item) if isinstance(item, str) and len(item) == 64 else plain(item)
        parts.append(f"{label(key)} {shown}")
    return ", ".join(parts)


@register.filter
def annex_class(value) -> str:
    """An Annex IV section's status as a colour: filled or attested is done, open is not."""
    return {"filled_from_evidence": "ok", "attested": "ok", "open": "warn"}.get(str(value), "neutral")
