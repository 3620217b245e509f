"""The EU AI Act technical documentation (Annex IV): assembled from the registry and the evidence, section by
section, rendered through the model cards' PDF/A-3 pipeline and re-derivable from its recorded inputs."""

import copy
import json

import pytest
import yaml
from django.urls import reverse

from audits.ledger.hashing import canonical
from core.errors import DomainError
from registry.models import RegisteredModel
from reports import annex_iv, jobs
from reports.card import annex_iv_build
from reports.models import Report
from reports.render import render_card_pdf
from reports.services import attestation_answer
from tests.reports.card_fixtures import events, evidenced, pdf_reader, pdf_text  # noqa: F401

pytestmark = pytest.mark.django_db
STATEMENT = "The design, architecture and standards are in TD-2026-07 section 3, reviewed on 2026-11-20."


@pytest.fixture
def eu_version(evidenced):  # noqa: F811
    """credit-scoring 1.0.0 with its evidence, its model declared under the EU AI Act."""
    RegisteredModel.objects.filter(pk=evidenced.model_id).update(frameworks=["GDPR", "EU_AI_ACT"])
    evidenced.model.refresh_from_db()
    return evidenced


def _section(document: dict, point: str) -> dict:
    return next(section for section in document["annex_iv"]["sections"] if section["point"] == point)


def _part(section: dict, part_id: str) -> dict:
    return next(part for part in section["parts"] if part["id"] == part_id)


def test_the_data_files_hold_annex_iv_points_1_to_9_and_a_sourced_crosswalk():
    definition, crosswalk = annex_iv.annex_load(), annex_iv.crosswalk_load()
    assert [section["point"] for section in definition["sections"]] == [str(n) for n in range(1, 10)]
    assert all("Annex IV point" in section["source"] for section in definition["sections"])
    assert "ISO/IEC 42001:2023 Annex A" in crosswalk["source"] and "NIST AI 100-1" in crosswalk["source"]
    titles = [control["title"] for entry in crosswalk["evidence"] for control in entry["nist_ai_rmf"]]
    assert "Test sets, metrics and details about the tools used during TEVV are documented" in titles
    for entry in crosswalk["evidence"]:
        assert all(control["id"].startswith("A.") for control in entry["iso_42001"])
        assert all(
            control["id"].split()[0] in ("GOVERN", "MAP", "MEASURE", "MANAGE") for control in entry["nist_ai_rmf"]
        )


def _definition() -> dict:
    return yaml.safe_load((annex_iv.DATA_DIR / "annex_iv.yaml").read_text())


def test_an_annex_file_that_breaks_a_rule_is_refused_naming_every_problem():
    broken = _definition()
    broken["sections"] = broken["sections"][:8]
    broken["sections"][0]["parts"][0]["check"] = "looks_fine"
    broken["sections"][1]["parts"][1]["attested_by"] = "EUAIA-15"  # automatic, so no person answers it
    broken["sections"][2]["parts"][0]["attested_by"] = "EUAIA-9"  # both a check and an attestation
    with pytest.raises(annex_iv.TechnicalDocumentationInvalid) as caught:
        annex_iv.annex_validate(broken, human_items={"EUAIA-9", "EUAIA-14"})
    problems = str(caught.value)
    assert "sections: must be Annex IV points 1 to 9" in problems
    assert "unknown check 'looks_fine'" in problems
    assert "'EUAIA-15' is no human item" in problems
    assert "part limitations: name exactly one of check and attested_by" in problems


def test_a_crosswalk_with_a_kind_twice_or_a_control_without_title_is_refused():
    data = yaml.safe_load((annex_iv.DATA_DIR / "crosswalk.yaml").read_text())
    data["evidence"].append(copy.deepcopy(data["evidence"][0]))
    data["evidence"][1]["iso_42001"] = [{"id": "A.6.2.5"}]
    data["evidence"][2]["nist_ai_rmf"] = [{"id": "MAP 2.3", "title": "Scientific integrity", "TEVV": None}]
    with pytest.raises(annex_iv.TechnicalDocumentationInvalid) as caught:
        annex_iv.crosswalk_validate(data)
    assert "evidence model_record: listed more than once" in str(caught.value)
    assert "evidence artifact: each control is an id and a title, nothing else" in str(caught.value)
    assert "evidence model_signature: each control is an id and a title" in str(caught.value)


def test_sections_are_filled_from_evidence_attested_or_open_with_what_is_missing(eu_version, officer):
    document = annex_iv_build(version=eu_version, scope="annex_iv")
    general = _section(document, "1")
    assert _part(general, "artifact")["met"] and _part(general, "artifact")["evidence"] == [
        {"kind": "artifact", "sha256": eu_version.artifact.sha256}
    ]
    deployment = _part(general, "deployment")
    assert general["status"] == "open" and not deployment["met"]
    assert deployment["missing"].startswith("a person's answer to EUAIA-11-ANNEX-IV (awaiting an attestation)")
    bias = _part(_section(document, "2"), "bias")
    assert bias["met"] and bias["evidence"][0]["job_kind"] == "bias_audit"
    assert _section(document, "8")["status"] == "open"
    before = document["annex_iv"]["completeness"]

    attestation_answer(
        version=eu_version,
        framework="eu_ai_act",
        item_id="EUAIA-11-ANNEX-IV",
        answer="met",
        statement=STATEMENT,
        user=officer,
    )
    document = annex_iv_build(version=eu_version, scope="annex_iv")
    standards = _section(document, "7")
    assert standards["status"] == "attested"
    assert _part(standards, "standards")["evidence"][0]["kind"] == "attestation"
    after = document["annex_iv"]["completeness"]
    assert after["sections_complete"] == before["sections_complete"] + 1
    assert after["parts_met"] > before["parts_met"]
    assert after["percent"] == round(100 * after["sections_complete"] / 9)


def test_a_section_every_part_of_which_the_evidence_meets_is_filled_from_evidence():
    parts = [{"decided_by": "evidence", "met": True}, {"decided_by": "evidence", "met": True}]
    assert annex_iv.section_status(parts) == "filled_from_evidence"
    assert annex_iv.section_status([*parts, {"decided_by": "attestation", "met": True}]) == "attested"
    assert annex_iv.section_status([*parts, {"decided_by": "evidence", "met": False}]) == "open"


def test_the_crosswalk_lists_this_versions_evidence_under_its_kind(eu_version):
    document = annex_iv_build(version=eu_version, scope="annex_iv")
    rows = {row["kind"]: row for row in document["crosswalk"]["rows"]}
    assert [p["job_kind"] for p in rows["bias_audit"]["pointers"]] == ["bias_audit"]
    assert rows["bias_audit"]["pointers"][0]["sha256"] == document["fairness"]["evidence"]["sha256"]
    assert rows["artifact"]["pointers"] == [{"kind": "artifact", "sha256": eu_version.artifact.sha256}]
    assert rows["drift_check"]["pointers"] == []
    assert {"A.6.2.4", "A.5.4"} <= {c["id"] for c in rows["bias_audit"]["iso_42001"]}
    assert "MEASURE 2.11" in {c["id"] for c in rows["bias_audit"]["nist_ai_rmf"]}


def test_annex_iv_is_refused_where_the_eu_ai_act_does_not_apply(evidenced, officer):  # noqa: F811
    with pytest.raises(DomainError) as caught:
        jobs.report_request(version=evidenced, scope="annex_iv", user=officer)
    assert caught.value.code == "invalid" and "annex_iv" in caught.value.message


@pytest.fixture
def annex_report(eu_version, officer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = jobs.report_request(version=eu_version, scope="annex_iv", user=officer)
    report.refresh_from_db()
    assert report.status == "succeeded", report.error
    return report


def _pdf(report: Report) -> bytes:
    return jobs.report_pdf_path(report).read_bytes()


def test_the_pdf_has_the_completeness_on_its_first_page_and_carries_its_document(annex_report):
    data = _pdf(annex_report)
    reader = pdf_reader(data)
    first = reader.pages[0].extract_text()
    figure = annex_report.inputs["annex_iv"]["completeness"]
    assert f"{figure['percent']}%" in first and f"{figure['sections_complete']} of 9 Annex IV sections" in first
    (body,) = reader.attachments["technical-documentation.json"]
    assert json.loads(body) == json.loads(canonical(annex_report.inputs))
    text = pdf_text(data)
    for section in annex_report.inputs["annex_iv"]["sections"]:
        assert f"{section['point']} {section['title']}" in text
    assert "ISO/IEC 42001 Annex A" in text and "MEASURE 2.11" in text
    assert reader.metadata.title.startswith("Technical documentation (EU AI Act Annex IV)")
    (done,) = events("report.rendered")
    assert done["data"]["scope"] == "annex_iv" and done["data"]["pdf_sha256"] == annex_report.pdf_sha256


def test_the_same_inputs_give_the_same_bytes_and_a_changed_input_is_caught(annex_report, auditor):
    again = render_card_pdf(json.loads(json.dumps(annex_report.inputs)), jobs.chart_bytes(annex_report.inputs))
    assert again.sha256 == annex_report.pdf_sha256
    report = jobs.report_rederive(report=annex_report, user=auditor)
    assert report.rederive_matches is True
    tampered = copy.deepcopy(report.inputs)
    tampered["annex_iv"]["completeness"]["percent"] = 100
    Report.objects.filter(pk=report.pk).update(inputs=tampered)
    report = jobs.report_rederive(report=Report.objects.get(pk=report.pk), user=auditor)
    assert report.rederive_matches is False
    assert events("report.rederived")[-1]["data"]["inputs_match"] is False


def test_the_download_is_named_as_technical_documentation(annex_report, client_as, auditor):
    response = client_as(auditor).get(reverse("v1:report-pdf", args=[annex_report.pk]))
    assert response.status_code == 200
    assert "credit-scoring-1.0.0-technical-documentation.pdf" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == _pdf(annex_report)


def test_an_outsider_cannot_request_annex_iv(eu_version, client_as, outsider):
    url = reverse("v1:report-request", args=[eu_version.model.name, eu_version.version])
    response = client_as(outsider).post(url, {"scope": "annex_iv"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"]
