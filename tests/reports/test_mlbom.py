"""The CycloneDX 1.6 ML-BOM of a model version: valid against the schema, complete, deterministic, recorded in
the trail, served by the API and the admin, and checked against the trail by the offline verifier."""

import hashlib
import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from django.urls import reverse

from audits.models import AuditEvent
from reports.mlbom import bom_bytes, bom_document
from reports.mlbom_issue import ISSUED, bom_facts, model_version_bom
from tests.reports.card_fixtures import embedded_card, evidenced, pdf_reader, pdf_text, rendered  # noqa: F401

pytestmark = pytest.mark.django_db
VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


def _url(version="1.0.0"):
    return reverse("v1:ml-bom", args=["credit-scoring", version])


def _issued():
    return [
        json.loads(bytes(body))["data"]
        for body in AuditEvent.objects.filter(action=ISSUED).values_list("body", flat=True)
    ]


def test_the_bom_is_valid_cyclonedx_1_6_with_the_model_its_data_and_its_runtime(evidenced):  # noqa: F811
    data = model_version_bom(evidenced)
    assert VALIDATOR.validate_str(data.decode()) is None
    bom = json.loads(data)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    model = bom["metadata"]["component"]
    assert model["type"] == "machine-learning-model" and model["name"] == "credit-scoring"
    assert model["hashes"] == [{"alg": "SHA-256", "content": evidenced.artifact.sha256}]
    card = model["modelCard"]
    assert card["modelParameters"]["task"] == "classification"
    assert card["modelParameters"]["approach"] == {"type": "supervised"}
    metrics = card["quantitativeAnalysis"]["performanceMetrics"]
    measured = [m for m in metrics if "confidenceInterval" in m]
    assert {m["type"] for m in measured} >= {"accuracy", "precision"}
    for metric in measured:
        interval = metric["confidenceInterval"]
        assert float(interval["lowerBound"]) <= float(metric["value"]) <= float(interval["upperBound"])
    assert {m["slice"].split(" (")[0] for m in measured} == {"sex = F", "sex = M"}
    [fairness] = card["considerations"]["fairnessAssessments"]
    assert fairness["groupAtRisk"].startswith("sex: ") and "bias audit verdict" in fairness["harms"]
    assert card["considerations"]["technicalLimitations"]
    [dataset] = [c for c in bom["components"] if c["type"] == "data"]
    assert dataset["hashes"] == [{"alg": "SHA-256", "content": evidenced.evaluation_dataset.sha256}]
    assert dataset["data"][0]["type"] == "dataset" and dataset["data"][0]["sensitiveData"] == ["sex"]
    assert {"ref": dataset["bom-ref"]} in card["modelParameters"]["datasets"]
    libraries = {c["name"]: c for c in bom["components"] if c["type"] == "library"}
    assert {"scikit-learn", "skops", "numpy"} <= set(libraries)
    assert libraries["skops"]["purl"].startswith("pkg:pypi/skops@")
    [graph] = [d for d in bom["dependencies"] if d["ref"] == model["bom-ref"]]
    assert set(graph["dependsOn"]) == {lib["bom-ref"] for lib in libraries.values()}


def test_the_same_facts_give_the_same_bytes(evidenced):  # noqa: F811
    first = model_version_bom(evidenced)
    assert model_version_bom(evidenced) == first
    facts = bom_facts(evidenced)
    assert bom_bytes(bom_document(json.loads(json.dumps(facts)))) == first
    changed = {**facts, "description": facts["description"] + "."}
    assert bom_bytes(bom_document(changed)) != first


def test_a_version_without_evidence_still_gets_a_valid_bom(registered):
    from registry.models import ModelVersion

    data = model_version_bom(ModelVersion.objects.get(version="1.0.0"))
    assert VALIDATOR.validate_str(data.decode()) is None
    card = json.loads(data)["metadata"]["component"]["modelCard"]
    assert "fairnessAssessments" not in card["considerations"]


def test_a_schema_violation_is_caught_by_the_validator(evidenced):  # noqa: F811
    bom = json.loads(model_version_bom(evidenced))
    bom["metadata"]["component"]["modelCard"]["modelParameters"]["approach"] = {"type": "guesswork"}
    assert VALIDATOR.validate_str(json.dumps(bom)) is not None


def test_the_api_serves_it_and_the_trail_records_each_distinct_bom_once(evidenced, ci_client):  # noqa: F811
    response = ci_client.get(_url())
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.cyclonedx+json"
    assert 'filename="credit-scoring-1.0.0.cdx.json"' in response["Content-Disposition"]
    assert ci_client.get(_url()).content == response.content
    [recorded] = _issued()
    assert recorded["bom_sha256"] == hashlib.sha256(response.content).hexdigest()
    assert recorded["spec_version"] == "1.6"


def test_other_teams_and_strangers_get_nothing(registered, other_team_ci_client, anon_client, client_as, outsider):
    assert other_team_ci_client.get(_url()).status_code == 404
    assert anon_client.get(_url()).status_code in (401, 403)
    assert client_as(outsider).get(_url()).status_code == 403
    assert _issued() == []


def test_an_unknown_version_is_a_404(registered, ci_client):
    response = ci_client.get(_url("9.9.9"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_admin_offers_the_download(registered, client, officer, auditor):
    from registry.models import ModelVersion
    from reports.jobs import report_request

    version = ModelVersion.objects.get(version="1.0.0")
    report_request(version=version, scope="gdpr", user=officer)
    link = reverse("admin:reports_ml_bom", args=[version.pk])
    client.force_login(auditor)
    assert link in client.get(reverse("admin:reports_report_changelist")).content.decode()
    download = client.get(link)
    assert download.status_code == 200 and download.content == model_version_bom(version)
    assert _issued()[0]["bom_sha256"] == hashlib.sha256(download.content).hexdigest()


def test_people_who_may_not_read_reports_get_no_bom_in_the_admin(registered, client, requester):
    from registry.models import ModelVersion

    requester.is_staff = True
    requester.save()
    client.force_login(requester)
    version = ModelVersion.objects.get(version="1.0.0")
    assert client.get(reverse("admin:reports_ml_bom", args=[version.pk])).status_code == 403
    assert _issued() == []


def test_the_verifier_finds_the_bom_in_the_trail_and_catches_a_changed_byte(
    evidenced,  # noqa: F811
    ci_client,
    client_as,
    auditor,
    tmp_path,
    capsys,
):
    from audits.ledger.verify_document import main as verify_document

    data = ci_client.get(_url()).content
    (tmp_path / "bom.json").write_bytes(data)
    (tmp_path / "trail.jsonl").write_bytes(client_as(auditor).get(reverse("v1:audit-export")).getvalue())
    args = ["--trail", str(tmp_path / "trail.jsonl")]
    assert verify_document([str(tmp_path / "bom.json"), *args]) == 0
    assert ISSUED in capsys.readouterr().out
    at = data.index(b'"machine-learning-model"') + 3
    (tmp_path / "bom.json").write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
    assert verify_document([str(tmp_path / "bom.json"), *args]) == 1


def test_the_model_card_pdf_embeds_the_bom_and_the_trail_records_its_digest(rendered, settings, auditor):  # noqa: F811
    from core.blobs import blob_path
    from reports import jobs
    from tests.reports.card_fixtures import events

    data = blob_path(settings.REPORT_ROOT, rendered.pdf_sha256).read_bytes()
    [bom] = pdf_reader(data).attachments["ml-bom.cdx.json"]
    card = embedded_card(data)
    assert hashlib.sha256(bom).hexdigest() == card["ml_bom"]["sha256"] == rendered.inputs["ml_bom"]["sha256"]
    assert VALIDATOR.validate_str(bom.decode()) is None
    assert json.loads(bom)["metadata"]["component"]["hashes"][0]["content"] == rendered.version.artifact.sha256
    [done] = events("report.rendered")
    assert done["data"]["ml_bom_sha256"] == card["ml_bom"]["sha256"]
    assert card["ml_bom"]["sha256"] in pdf_text(data).replace("\n", "")
    # Rendered again from the recorded inputs, the PDF and its BOM are the same bytes.
    assert jobs.report_rederive(report=rendered, user=auditor).rederive_matches


def test_a_card_whose_bom_was_altered_does_not_render(rendered):  # noqa: F811
    from reports.jobs import chart_bytes
    from reports.render import RenderError, render_card_pdf

    card = dict(rendered.inputs)
    card["ml_bom"] = {**card["ml_bom"], "document": {**card["ml_bom"]["document"], "version": 2}}
    with pytest.raises(RenderError, match="ML-BOM"):
        render_card_pdf(card, chart_bytes(card))
