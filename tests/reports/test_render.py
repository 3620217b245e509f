"""The card rendered by WeasyPrint to tagged PDF/A-3a and read back with pypdf: pages, text, the embedded card, XMP."""

import gc
import json
import re
from datetime import datetime
from importlib.resources import files

import pytest
import weasyprint
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError

from audits.ledger.hashing import canonical
from reports import render
from reports.card import card_build
from reports.jobs import chart_bytes
from reports.render import (
    ATTACHMENT_NAME,
    RenderError,
    _ChartFetcher,
    _collector_paused,
    card_sha256,
    card_user_agent_css,
    render_card_pdf,
)
from reports.templatetags.model_card import interval, interval_lines, num, pointer, pointer_lines
from tests.reports.card_fixtures import embedded_card, evidenced, pdf_reader, pdf_text  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(evidenced):  # noqa: F811
    return card_build(version=evidenced, scope="gdpr")


def _xmp(data: bytes) -> str:
    return pdf_reader(data).trailer["/Root"]["/Metadata"].get_object().get_data().decode()


def test_the_pdf_reads_back_with_its_pages_text_card_and_pdf_a_claims(card):
    rendered = render_card_pdf(card, chart_bytes(card))
    reader = pdf_reader(rendered.data)
    assert rendered.data.startswith(b"%PDF-1.7") and len(reader.pages) == rendered.pages >= 5
    assert embedded_card(rendered.data) == json.loads(canonical(card))
    (body,) = reader.attachments[ATTACHMENT_NAME]
    assert body == canonical(card)
    xmp = _xmp(rendered.data)
    assert re.search(r'pdfaid:part="3"', xmp) and re.search(r'pdfaid:conformance="A"', xmp)
    stamp = datetime.fromisoformat(card["generated_at"]).replace(microsecond=0)
    assert reader.metadata.creation_date == stamp and reader.metadata.modification_date == stamp
    filespec = reader.trailer["/Root"]["/AF"][0].get_object()
    assert filespec["/AFRelationship"] == "/Data"
    bookmarks = [item.title for item in reader.outline if not isinstance(item, list)]
    assert {"1 Executive summary", "6 Fairness", "10 Compliance checklist"} <= set(bookmarks)


def test_the_key_tables_are_selectable_text(card, tmp_path):
    data = render_card_pdf(card, chart_bytes(card)).data
    (tmp_path / "card.pdf").write_bytes(data)
    text = pdf_text(data)
    (sex,) = card["fairness"]["features"]
    for group in sex["groups"]:
        rate = next(m for m in group["metrics"] if m["name"] == "selection_rate")
        assert num(rate["value"]) in text and f"[{num(rate['ci'][0])}, {num(rate['ci'][1])}]" in text
    flat = text.replace("\n", "")  # narrow cells wrap identifiers and digests
    for item in card["checklist"][0]["items"]:
        assert item["item_id"] in flat and item["status"].replace("_", " ") in text
    assert "Page 1 of" in text and card["model_details"]["artifact"]["sha256"] in flat
    assert card_sha256(card) in flat


def test_the_same_card_gives_the_same_bytes_whatever_its_key_order(card):
    charts = chart_bytes(card)
    first = render_card_pdf(card, charts)
    reordered = json.loads(json.dumps(card, sort_keys=True)[::-1][::-1], object_pairs_hook=lambda p: dict(reversed(p)))
    assert render_card_pdf(reordered, charts).sha256 == first.sha256
    changed = {**card, "intended_use": {"intended": "Something else", "out_of_scope": ""}}
    assert render_card_pdf(changed, charts).sha256 != first.sha256


def test_the_lighter_user_agent_stylesheet_drops_six_rules_and_changes_no_byte(card, monkeypatch):
    stock = (files(weasyprint.css) / "html5_ua.css").read_text("utf-8").splitlines()
    dropped = [line for line in stock if line not in card_user_agent_css().splitlines()]
    assert [line.split()[0] for line in dropped] == [
        "::marker",
        "::footnote-call",
        "::footnote-marker",
        "::note-call",
        "::note-marker",
        "::note-callback",
    ]
    assert card["limitations"]["computed"]  # a list, so the <li> marker is drawn too
    charts = chart_bytes(card)
    lighter = render_card_pdf(card, charts)
    monkeypatch.setattr(render, "_CardHTML", HTML)
    assert render_card_pdf(card, charts).sha256 == lighter.sha256


def test_charts_are_checked_against_their_digests(card):
    charts = chart_bytes(card)
    digest = sorted(charts)[0]
    with pytest.raises(RenderError, match="not available"):
        render_card_pdf(card, {k: v for k, v in charts.items() if k != digest})
    with pytest.raises(RenderError, match="does not match"):
        render_card_pdf(card, {**charts, digest: charts[digest] + b"\0"})


def test_rendering_fetches_nothing_but_the_charts_it_was_handed():
    fetcher = _ChartFetcher({"ab" * 32: b"png"})
    assert fetcher.fetch("evidence:" + "ab" * 32).read() == b"png"
    for url in ("https://example.com/x.png", "file:///etc/passwd", "evidence:" + "cd" * 32):
        with pytest.raises(FatalURLFetchingError):
            fetcher.fetch(url)


def test_the_cycle_collector_waits_for_the_last_rendering_and_resumes_only_if_it_ran():
    assert gc.isenabled()
    with pytest.raises(RenderError), _collector_paused:
        with _collector_paused:
            assert not gc.isenabled()
        assert not gc.isenabled()  # another rendering is still under way
        raise RenderError("a rendering that fails")
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused:
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_numbers_and_pointers_are_formatted_for_reading():
    assert interval({"value": 0.32820, "ci": [0.2628, 0.3950]}) == "0.328 [0.263, 0.395]"
    assert interval({"value": 0.5, "ci": [None, None]}) == "0.500"
    assert interval_lines({"value": 1.0, "ci": [0.5, 1.5]}) == '1.000<span class="ci">\n[0.500, 1.500]</span>'
    assert num(None) == "\u2014" and num(12345) == "12,345" and num(1.5e-15) == "1.5e-15"
    assert pointer({"kind": "audit_event", "seq": 7, "hash": "ab" * 32}) == f"event #7 {'ab' * 8}\u2026"
    assert pointer_lines([{"kind": "audit_event", "seq": 7, "hash": "ab" * 32}, {"kind": "waiver", "id": 2}]) == (
        f"event #7 {'ab' * 8}\u2026\nwaiver 2"
    )


def test_the_pdf_is_tagged_for_screen_readers(card):
    """PDF/A-3a: marked as tagged, with a structure tree whose headings and tables a reader can follow."""
    reader = pdf_reader(render_card_pdf(card, chart_bytes(card)).data)
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root.get("/Lang")
    tree = root["/StructTreeRoot"].get_object()
    kinds = set()

    def walk(node, depth=0):
        node = node.get_object()
        if depth > 40 or not hasattr(node, "get"):
            return
        if node.get("/S"):
            kinds.add(str(node["/S"]))
        children = node.get("/K")
        children = children if isinstance(children, list) else [children] if children is not None else []
        for child in children:
            if hasattr(child, "get_object") or isinstance(child, dict):
                walk(child, depth + 1)

    walk(tree)
    assert {"/H1", "/Table", "/TR", "/TD"} <= kinds
    assert "/Figure" in kinds  # the charts
