"""A model card document to tagged PDF/A-3a bytes (pure: no database, no network, no clock).

The same card document and charts give the same bytes: the card is reduced to its RFC 8785 canonical JSON
first (so the order of a stored dict's keys cannot matter), the PDF's dates come from card["generated_at"],
its file identifier from the card's digest, and the only resources are the chart PNGs handed in, served
by their SHA-256. The canonical JSON is embedded as the attached file model-card.json (relationship
"Data"), so a machine reads what a person reads.
"""

import contextlib
import gc
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

import weasyprint
from django.template.loader import render_to_string
from weasyprint import CSS, HTML, Attachment
from weasyprint.text import ffi
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from audits.ledger.hashing import canonical

ATTACHMENT_NAME = "model-card.json"
# PDF/A-3a: the archival PDF/A-3 (which allows the embedded card) at its accessible level, a tagged PDF whose
# structure (headings, tables, lists, figures with their alternative text) screen readers follow.
PDF_VARIANT = "pdf/a-3a"
CHART_SCHEME = "evidence:"
TEMPLATE = "reports/model_card.html"
# Documents other than the model card, by schema: their template, attachment name and what the attachment is.
DOCUMENTS = {
    "verity.annex-iv/1": (
        "reports/annex_iv.html",
        "technical-documentation.json",
        "The EU AI Act Annex IV document this PDF was rendered from (RFC 8785 canonical JSON)",
    ),
}
MODEL_CARD = (TEMPLATE, ATTACHMENT_NAME, "The model card document this PDF was rendered from (RFC 8785 canonical JSON)")
# fontTools logs every step of every font subset at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)
_ENVIRONMENT = threading.Lock()


# WeasyPrint's user-agent stylesheet has rules that give any element a marker, footnote and note calls and markers
# and a note callback: six pseudo-elements cascaded and computed for every element of a card (of the combined
# card's 11,135 computed styles, 551 remain without them), and as many more objects for the cycle collector.
# A card has no footnotes or notes and its only list items are <li>; without those rules it renders to the same
# bytes (tests/reports/test_render.py).
EVERY_ELEMENT_PSEUDO = ("marker", "footnote-call", "footnote-marker", "note-call", "note-marker", "note-callback")
LIST_ITEM_MARKER = "li::marker { font-variant-numeric: tabular-nums; white-space: pre; text-transform: none }"


def card_user_agent_css() -> str:
    """WeasyPrint's own user-agent stylesheet, less the rules for every element, with the marker's for <li>."""
    stock = (files(weasyprint.css) / "html5_ua.css").read_text("utf-8").splitlines()
    rules = tuple(f"::{name} " for name in EVERY_ELEMENT_PSEUDO)
    return "\n".join([line for line in stock if not line.startswith(rules)] + [LIST_ITEM_MARKER])


_CARD_USER_AGENT = CSS(string=card_user_agent_css())


class _CardHTML(HTML):
    """A card's HTML with the lighter user-agent stylesheet, through the hook WeasyPrint's own tests use for one
    (a private one: WeasyPrint is pinned, and a test compares the bytes with those the stock stylesheet gives).
    The card has no forms, so there is no form stylesheet to keep."""

    def _ua_stylesheets(self, forms=False):
        return [_CARD_USER_AGENT]


class RenderError(ValueError):
    """The card cannot be rendered as given (a chart is missing or does not match its digest)."""


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    sha256: str
    pages: int


def card_bytes(card: dict) -> bytes:
    return canonical(card)


def card_sha256(card: dict) -> str:
    return hashlib.sha256(card_bytes(card)).hexdigest()


def chart_digests(card: dict) -> list[str]:
    """Every chart the card shows, by SHA-256, in a fixed order."""
    found = []
    for section in ("fairness", "explainability"):
        found += [chart["sha256"] for chart in (card.get(section) or {}).get("charts") or []]
    return sorted(set(found))


class _ChartFetcher(URLFetcher):
    """Serves the charts handed in, by digest; refuses every other URL, so rendering never reaches out."""

    def __init__(self, charts: dict[str, bytes]):
        super().__init__(fail_on_errors=True)
        self._charts = charts

    def fetch(self, url, headers=None):
        digest = url.removeprefix(CHART_SCHEME)
        if not url.startswith(CHART_SCHEME) or digest not in self._charts:
            raise FatalURLFetchingError(f"the model card refers to a resource it does not hold: {url}")
        return URLFetcherResponse(url, self._charts[digest], {"Content-Type": "image/png"})


def _checked_charts(card: dict, charts: dict[str, bytes]) -> dict[str, bytes]:
    needed = chart_digests(card)
    for digest in needed:
        if digest not in charts:
            raise RenderError(f"chart {digest} is not available")
        if hashlib.sha256(charts[digest]).hexdigest() != digest:
            raise RenderError(f"chart {digest} does not match its digest")
    return {digest: charts[digest] for digest in needed}


def _stamp(card: dict) -> datetime:
    return datetime.fromisoformat(card["generated_at"]).replace(microsecond=0)


def renderer() -> dict:
    """What renders, recorded beside each rendering: the same card gives the same bytes on the same stack."""
    return {
        "weasyprint": weasyprint.__version__,
        "font_subsetter": "harfbuzz" if ffi.harfbuzz_subset is not None else "fonttools",
    }


@contextlib.contextmanager
def _font_timestamps(stamp: datetime):
    """WeasyPrint subsets fonts with HarfBuzz, which keeps a font's own dates; without HarfBuzz-Subset it
    falls back to fontTools, which writes the current time into each subset font unless SOURCE_DATE_EPOCH
    is set (reproducible-builds.org). The lock keeps concurrent renderings from seeing each other's value."""
    with _ENVIRONMENT:
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(int(stamp.timestamp()))
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
            else:
                os.environ["SOURCE_DATE_EPOCH"] = previous


class _CollectorPause:
    """Holds off Python's cycle collector while cards render. WeasyPrint allocates enough objects laying out a
    card to set off full collections, and each walks every object of the process: some 400,000 in a process
    that has loaded the evidence libraries, about a sixth of the rendering time. What a rendering drops is freed
    by reference counting (its peak heap is the same either way), so the collector resumes, if it ran before,
    once the last rendering under way has finished, and then has the rendering's survivors to look at once."""

    def __init__(self):
        self._lock = threading.Lock()
        self._renderings = 0
        self._resume = False

    def __enter__(self):
        with self._lock:
            if self._renderings == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._renderings += 1

    def __exit__(self, *exc_info):
        with self._lock:
            self._renderings -= 1
            if self._renderings == 0 and self._resume:
                gc.enable()


_collector_paused = _CollectorPause()


def _document(card: dict) -> tuple[str, str, str]:
    return DOCUMENTS.get(card.get("schema"), MODEL_CARD)


def card_html(card: dict) -> str:
    stamp = _stamp(card)
    template, attachment, _ = _document(card)
    context = {
        "card": card,
        "card_sha256": card_sha256(card),
        "attachment_name": attachment,
        "stamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "chart_scheme": CHART_SCHEME,
    }
    return render_to_string(template, context)


def _bom_attachments(card: dict, stamp: datetime) -> list[Attachment]:
    """The ML-BOM the card carries (reports.mlbom), as the exact bytes whose SHA-256 the card and trail give."""
    bom = card.get("ml_bom")
    if not bom:
        return []
    data = canonical(bom["document"])
    if hashlib.sha256(data).hexdigest() != bom["sha256"]:
        raise RenderError("the card's ML-BOM does not hash to the SHA-256 it gives")
    return [
        Attachment(
            string=data.decode(),
            name=bom["file"],
            description=f"The version's CycloneDX {bom['spec_version']} ML-BOM (RFC 8785 canonical JSON)",
            created=stamp,
            modified=stamp,
            relationship="Data",
        )
    ]


def render_card_pdf(card: dict, charts: dict[str, bytes]) -> RenderedPdf:
    body = card_bytes(card)
    card = json.loads(body)  # keys in canonical order, whatever the order of the dict handed in
    fetcher = _ChartFetcher(_checked_charts(card, charts))
    stamp = _stamp(card)
    _, name, description = _document(card)
    attachment = Attachment(
        string=body.decode(),
        name=name,
        description=description,
        created=stamp,
        modified=stamp,
        relationship="Data",
    )
    attachments = [attachment, *_bom_attachments(card, stamp)]
    with _collector_paused:
        document = _CardHTML(string=card_html(card), url_fetcher=fetcher).render()
        with _font_timestamps(stamp):
            data = document.write_pdf(
                pdf_variant=PDF_VARIANT,
                pdf_identifier=hashlib.sha256(body).hexdigest()[:32].encode(),
                attachments=attachments,
            )
    return RenderedPdf(data=data, sha256=hashlib.sha256(data).hexdigest(), pages=len(document.pages))
