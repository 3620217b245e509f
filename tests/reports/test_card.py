"""The model card document, built from real evidence jobs, approvals, attestations and the audit trail."""

import json
from datetime import datetime, timedelta

import pytest

from audits.models import AuditEvent
from audits.services import checkpoint_create
from evidence.models import EvidenceJob
from reports.card import SCHEMA, card_build
from reports.checklists import applicable_frameworks
from reports.services import attestation_answer
from tests.registry_fixtures import decide, request_approval
from tests.reports.card_fixtures import evidenced  # noqa: F401

pytestmark = pytest.mark.django_db


def _jobs(version) -> dict:
    return {job.kind: job for job in EvidenceJob.objects.filter(version=version)}


def test_every_section_comes_from_the_registered_version_and_its_evidence(evidenced):  # noqa: F811
    version, jobs = evidenced, _jobs(evidenced)
    card = card_build(version=version, scope="gdpr")
    assert (card["schema"], card["scope"], card["frameworks"]) == (SCHEMA, "gdpr", ["gdpr"])
    control = card["document_control"]
    assert (control["model"], control["version"], control["owner"]) == ("credit-scoring", "1.0.0", "service:ci-main")
    assert card["model_details"]["artifact"]["sha256"] == version.artifact.sha256
    assert card["model_details"]["lineage"] == {"code_commit": "a1b2c3d", "pipeline": "github-actions"}
    (dataset,) = card["data"]["datasets"]
    assert dataset["sha256"] == version.evaluation_dataset.sha256
    assert dataset["used_for"] == ["bias_audit", "evaluation", "explanation"]
    assert dataset["sensitive_features"] == ["sex"] and dataset["rows"] == 400
    assert card["executive_summary"]["verdicts"] == {
        "explanation": jobs["explanation"].verdict,
        "bias_audit": jobs["bias_audit"].verdict,
        "drift_check": None,
    }
    bias = jobs["bias_audit"]
    fairness = card["fairness"]
    assert fairness["evidence"] == {
        "kind": "evidence_job",
        "id": bias.pk,
        "job_kind": "bias_audit",
        "sha256": bias.result_sha256,
    }
    (sex,) = fairness["features"]
    stored = {g["group"]: g for g in bias.result["features"][0]["groups"]}
    for group in sex["groups"]:
        rate = next(m for m in group["metrics"] if m["name"] == "selection_rate")
        assert rate["value"] == stored[group["group"]]["metrics"]["selection_rate"]["value"]
        assert rate["ci"] == stored[group["group"]]["metrics"]["selection_rate"]["ci"]
    assert {t["name"]: t["source"] for t in fairness["thresholds"]}["min_selection_rate_ratio"].startswith(
        "four-fifths"
    )
    assert fairness["charts"] == [{"name": "selection_rate", "sha256": bias.result["charts"]["selection_rate"]}]
    by_group = card["performance"]["measured"]["by_group"]
    assert {row["group"] for row in by_group} == {"F", "M"}
    accuracy = next(m for m in by_group[0]["metrics"] if m["name"] == "accuracy")
    assert accuracy["ci"][0] <= accuracy["value"] <= accuracy["ci"][1]
    assert card["performance"]["declared"] == []
    explanation = jobs["explanation"]
    explained = card["explainability"]
    assert explained["explainer"] == "linear" and explained["importance"] == explanation.result["importance"]
    assert explained["additivity"]["passed"] is True
    assert {c["name"] for c in explained["charts"]} == {"importance", "beeswarm"}
    example = explained["local_examples"][0]
    assert example["row"] == explanation.result["sample"]["index"][0]
    assert {c["feature"] for c in example["contributions"]} == {"income", "debt_ratio", "age"}
    assert explained["lime"]["summary"]["rows_compared"] == len(explanation.result["lime"]["rows"]) > 0
    assert card["drift"] is None
    assert any("No drift check" in caveat for caveat in card["limitations"]["computed"])


def test_the_checklist_is_the_framework_s_evaluation_with_its_pointers(evidenced):  # noqa: F811
    card = card_build(version=evidenced, scope="gdpr")
    (gdpr,) = card["checklist"]
    assert gdpr["id"] == "gdpr" and gdpr["items"]
    assert sum(gdpr["summary"].values()) == len(gdpr["items"])
    assert card["executive_summary"]["checklist"] == gdpr["summary"]
    assert {item["decided_by"] for item in gdpr["items"]} == {"automatic", "human"}
    pointers = [p for item in gdpr["items"] for p in item["evidence"]]
    assert any(p["kind"] == "evidence_job" for p in pointers)
    card = card_build(version=evidenced, scope="combined")
    assert card["frameworks"] == sorted(applicable_frameworks(evidenced.model))
    assert [section["id"] for section in card["checklist"]] == card["frameworks"]


def test_the_trail_section_and_the_moment_a_card_is_built_for(evidenced):  # noqa: F811
    card = card_build(version=evidenced, scope="gdpr")
    assert card["generated_at"] == max(event["ts"] for event in card["audit"]["events"])
    assert card_build(version=evidenced, scope="gdpr") == card  # the clock does not enter the card
    assert card["audit"]["checkpoint"] is None and "No signed checkpoint" in card["audit"]["checkpoint_note"]
    actions = [event["action"] for event in card["audit"]["events"]]
    assert actions[:3] == ["model.registered", "dataset.registered", "model_version.registered"]
    assert actions.count("evidence.completed") == 2
    for event in card["audit"]["events"]:
        assert AuditEvent.objects.get(seq=event["seq"]).hash == event["hash"]
    checkpoint = checkpoint_create()
    covered = card_build(version=evidenced, scope="gdpr")["audit"]
    assert covered["checkpoint"]["size"] == checkpoint.size >= covered["newest_seq"]
    assert json.loads(covered["checkpoint"]["body"])["head"] == checkpoint.head
    assert covered["checkpoint"]["signature"] == checkpoint.signature
    bias = _jobs(evidenced)["bias_audit"]
    before = bias.finished_at - timedelta(microseconds=1)
    card = card_build(version=evidenced, scope="gdpr", as_of=before)
    assert "missing" in card["fairness"] and card["performance"]["measured"] is None
    assert all(event["ts"] <= before.isoformat().replace("+00:00", "Z") for event in card["audit"]["events"])
    signed = datetime.fromisoformat(card["audit"]["checkpoint"]["ts"])  # a checkpoint signed later still covers
    assert datetime.fromisoformat(card["generated_at"]) == max(before, signed)


def test_approvals_and_attestations_appear_with_what_each_person_saw(
    evidenced,  # noqa: F811
    ci_client,
    client_as,
    officer,
    officer2,
    no_evidence_policy,  # noqa: F811
):
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).status_code == 201
    attestation_answer(
        version=evidenced,
        framework="gdpr",
        item_id="GDPR-22-3",
        answer="met",
        statement="Applicants can ask a credit officer to review any refusal within 30 days.",
        user=officer,
    )
    card = card_build(version=evidenced, scope="gdpr")
    (request,) = card["approvals"]
    assert request["status"] == "approved" and request["artifact_sha256"] == evidenced.artifact.sha256
    assert [d["decided_by"] for d in request["decisions"]] == [f"user:{officer.pk}", f"user:{officer2.pk}"]
    assert card["document_control"]["status"] == "approved (production)"
    (answer,) = card["attestations"]
    assert (answer["item_id"], answer["answer"], answer["answered_by"]) == ("GDPR-22-3", "met", f"user:{officer.pk}")
    item = next(i for i in card["checklist"][0]["items"] if i["item_id"] == "GDPR-22-3")
    assert item["status"] == "passed"
    assert "attestation.answered" in [event["action"] for event in card["audit"]["events"]]
