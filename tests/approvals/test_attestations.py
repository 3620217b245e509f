"""Approval attestations: issued with the approval, served, referenced by the gate, verified offline (by the
project's verifier and by securesystemslib's DSSE), listed when they no longer hold, and tamper-evident."""

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from approvals.attestations import approval_predicate, attestations_revoked
from audits.keys import public_pem, signing_key
from audits.ledger.attestation import APPROVAL_PREDICATE_TYPE, PAYLOAD_TYPE, envelope_sign, envelope_verify
from audits.ledger.verify_attestation import main as verify_main
from audits.ledger.verify_attestation import verify
from audits.models import AuditEvent
from audits.selectors import audit_trail_verify
from registry.models import ApprovalAttestation, ApprovalRequest
from tests.registry_fixtures import decide, request_approval


def _served(client, request_id):
    return client.get(reverse("v1:approval-attestation", args=[request_id]))


def _event(action):
    event = AuditEvent.objects.filter(action=action).order_by("-seq").first()
    return event, json.loads(bytes(event.body))["data"]


def test_an_approval_issues_a_signed_attestation_recorded_in_the_trail(approved, ci_client, registered):
    response = _served(ci_client, approved)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.dsse.envelope.v1+json"
    envelope = response.content
    body = envelope_verify(envelope, [signing_key().public_key()])
    assert body["subject"] == [{"name": "credit-scoring@1.0.0", "digest": {"sha256": registered["artifact_sha256"]}}]
    assert body["predicateType"] == APPROVAL_PREDICATE_TYPE
    predicate = body["predicate"]
    request = ApprovalRequest.objects.get(pk=approved)
    assert predicate["model"] == "credit-scoring" and predicate["stage"] == "production"
    assert predicate["risk_tier"] == "medium" and predicate["expires_at"] == request.expires_at.isoformat()
    assert predicate["policy"]["sha256"] == hashlib.sha256(_canonical(request.policy)).hexdigest()
    assert len(predicate["deciders"]) == 2 and all(d.startswith("user:") for d in predicate["deciders"])
    approved_event, _ = _event("approval.approved")
    assert predicate["audit_event"] == {"seq": approved_event.seq, "hash": approved_event.hash}
    attested, data = _event("approval.attested")
    # The attestation's digest is written by the approving transaction, right after the approval itself.
    assert attested.seq == approved_event.seq + 1
    assert data["attestation_sha256"] == hashlib.sha256(envelope).hexdigest()
    assert audit_trail_verify().ok


def _canonical(value):
    from audits.ledger.hashing import canonical

    return canonical(value)


def test_the_same_approval_gives_the_same_bytes(approved):
    attestation = ApprovalAttestation.objects.select_related("request__version__model").get(request_id=approved)
    approved_event, _ = _event("approval.approved")
    again = envelope_sign(
        signing_key(),
        {
            **json.loads(base64.b64decode(json.loads(bytes(attestation.envelope))["payload"])),
            "predicate": approval_predicate(attestation.request, approved_event),
        },
    )
    assert again == bytes(attestation.envelope)


def test_the_evidence_results_and_waivers_are_in_the_predicate(registered, ci_client, client_as, officer, officer2):
    from registry.models import ApprovalPolicy, ModelVersion
    from registry.policies import policy_thresholds
    from tests.registry_fixtures import finished_bias_audit

    ApprovalPolicy.objects.update(
        requires_explanation=False,
        requires_bias_audit=True,
        requires_model_cards=False,
        requires_drift_check_for_reapproval=False,
    )
    version = ModelVersion.objects.get(version="1.0.0")
    request_id = request_approval(ci_client).json()["id"]
    job = finished_bias_audit(version, verdict="pass")
    job.params = {"thresholds": policy_thresholds(ApprovalRequest.objects.get(pk=request_id).policy)}
    job.save(update_fields=["params"])
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).status_code == 201
    body = envelope_verify(_served(ci_client, request_id).content, [signing_key().public_key()])
    [bias] = body["predicate"]["evidence"]
    assert bias["requirement"] == "bias_audit" and bias["job"] == job.pk
    assert bias["result_sha256"] == job.result_sha256 and bias["verdict"] == "pass" and bias["status"] == "done"
    assert body["predicate"]["waivers"] == []


def test_the_gate_answer_references_the_attestation(approved, ci_client, registered):
    url = reverse("v1:gate", args=["credit-scoring", "1.0.0"])
    answer = ci_client.get(url, {"stage": "production", "sha256": registered["artifact_sha256"]}).json()
    assert answer["allowed"] is True
    assert answer["attestation"] == reverse("v1:approval-attestation", args=[approved])
    assert answer["attestation_sha256"] == ApprovalAttestation.objects.get(request_id=approved).sha256


def test_the_verifier_accepts_it_offline_and_refuses_other_bytes(approved, registered, tmp_path, capsys):
    envelope = bytes(ApprovalAttestation.objects.get(request_id=approved).envelope)
    (tmp_path / "a.json").write_bytes(envelope)
    (tmp_path / "key.pem").write_bytes(public_pem())
    args = [str(tmp_path / "a.json"), "--public-key", str(tmp_path / "key.pem")]
    assert verify_main([*args, "--sha256", registered["artifact_sha256"]]) == 0
    assert "OK: credit-scoring 1.0.0 approved for production" in capsys.readouterr().out
    assert verify_main([*args, "--sha256", "0" * 64]) == 1
    capsys.readouterr()
    assert "artifact_mismatch" in _json_run(args + ["--sha256", "0" * 64], capsys)
    later = (timezone.now() + timedelta(days=400)).isoformat()
    assert verify_main([*args, "--at", later]) == 1


def _json_run(args, capsys):
    verify_main([*args, "--json"])
    return json.dumps([p["code"] for p in json.loads(capsys.readouterr().out)["problems"]])


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_a_changed_byte_is_caught(approved):
    envelope = bytes(ApprovalAttestation.objects.get(request_id=approved).envelope)
    keys = [signing_key().public_key()]
    assert verify(envelope, keys)["ok"]
    # A changed byte anywhere in the served file: its JSON, the payload or the signature.
    for at in range(0, len(envelope), max(1, len(envelope) // 97)):
        assert not verify(_flip(envelope, at), keys)["ok"], at
    # A changed byte of the statement itself, re-encoded so the envelope stays well formed.
    outer = json.loads(envelope)
    payload = base64.b64decode(outer["payload"]).replace(b'"production"', b'"productioN"')
    outer["payload"] = base64.b64encode(payload).decode()
    result = verify(json.dumps(outer).encode(), keys)
    assert [p["code"] for p in result["problems"]] == ["bad_signature"]


def test_securesystemslib_verifies_the_envelope(approved):
    pytest.importorskip("securesystemslib")
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    raw = bytes(ApprovalAttestation.objects.get(request_id=approved).envelope)
    envelope = Envelope.from_dict(json.loads(raw))
    keyid = ApprovalAttestation.objects.get(request_id=approved).keyid
    key = SSlibKey.from_crypto(signing_key().public_key(), keyid=keyid)
    assert envelope.payload_type == PAYLOAD_TYPE
    verified = envelope.verify([key], 1)
    assert key.keyid in verified
    tampered = Envelope.from_dict(json.loads(raw))
    tampered.payload = tampered.payload.replace(b'"production"', b'"productioN"')
    with pytest.raises(Exception, match="(?i)verif|threshold"):
        tampered.verify([key], 1)


def test_withdrawn_and_superseded_attestations_are_listed(
    approved, ci_client, client_as, officer, officer2, registered
):
    revocations = reverse("v1:attestation-revocations")
    assert ci_client.get(revocations).json()["revoked"] == []
    # A later approval for the same stage supersedes the first one.
    second = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), second).status_code == 201
    assert decide(client_as(officer2), second).status_code == 201
    [entry] = ci_client.get(revocations).json()["revoked"]
    assert entry["approval_request"] == approved and entry["reason"] == "superseded"
    assert entry["attestation_sha256"] == ApprovalAttestation.objects.get(request_id=approved).sha256
    withdrawn = client_as(officer).post(reverse("v1:approval-withdraw", args=[second]), format="json")
    assert withdrawn.status_code == 200
    listing = ci_client.get(revocations).json()["revoked"]
    assert [(e["approval_request"], e["reason"]) for e in listing] == [(approved, "superseded"), (second, "withdrawn")]


def test_an_expired_attestation_is_listed_and_refused_by_the_verifier(approved, tmp_path, capsys):
    later = timezone.now() + timedelta(days=400)
    listing = attestations_revoked(now=later)
    assert [(e["approval_request"], e["reason"]) for e in listing["revoked"]] == [(approved, "expired")]
    envelope = bytes(ApprovalAttestation.objects.get(request_id=approved).envelope)
    result = verify(envelope, [signing_key().public_key()], revocations=listing)
    assert [p["code"] for p in result["problems"]] == ["expired"]


def test_the_verifier_honours_the_revocation_list(approved, ci_client, client_as, officer, tmp_path):
    assert client_as(officer).post(reverse("v1:approval-withdraw", args=[approved]), format="json").status_code == 200
    (tmp_path / "a.json").write_bytes(bytes(ApprovalAttestation.objects.get(request_id=approved).envelope))
    (tmp_path / "key.pem").write_bytes(public_pem())
    (tmp_path / "revoked.json").write_bytes(ci_client.get(reverse("v1:attestation-revocations")).content)
    args = [str(tmp_path / "a.json"), "--public-key", str(tmp_path / "key.pem")]
    assert verify_main(args) == 0  # the signature alone still verifies: it is the list that withdraws it
    assert verify_main([*args, "--revocations", str(tmp_path / "revoked.json")]) == 1


def test_other_teams_and_strangers_get_nothing(approved, other_team_ci_client, anon_client, client_as, outsider):
    assert _served(other_team_ci_client, approved).status_code == 404
    assert _served(anon_client, approved).status_code in (401, 403)
    assert _served(client_as(outsider), approved).status_code == 403
    assert other_team_ci_client.get(reverse("v1:attestation-revocations")).json()["revoked"] == []


def test_a_request_not_approved_has_no_attestation(registered, ci_client, no_evidence_policy):
    request_id = request_approval(ci_client).json()["id"]
    response = _served(ci_client, request_id)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_admin_offers_the_download(approved, client, officer):
    client.force_login(officer)
    page = client.get(reverse("admin:registry_approvalrequest_change", args=[approved]))
    link = reverse("admin:registry_approvalrequest_attestation", args=[approved])
    assert link in page.content.decode()
    download = client.get(link)
    assert download.status_code == 200
    assert download.content == bytes(ApprovalAttestation.objects.get(request_id=approved).envelope)


def test_the_verifier_imports_no_django():
    import subprocess
    import sys

    code = "import sys, audits.ledger.verify_attestation; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR).returncode == 0


def test_a_waiver_the_approval_relied_on_is_in_the_predicate(
    audited, ci_client, client_as, officer, officer2, bias_only_policy
):
    url = reverse("v1:waivers", args=["credit-scoring", "1.0.0"])
    body = {"requirement": "bias_audit", "justification": "Remediation plan R-12 is under way; re-audit in May."}
    waiver = client_as(officer2).post(url, body, format="json").json()
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    predicate = envelope_verify(_served(ci_client, request_id).content, [signing_key().public_key()])["predicate"]
    [bias] = predicate["evidence"]
    assert bias["requirement"] == "bias_audit" and bias["status"] == "waived" and bias["waiver"] == waiver["id"]
    [granted] = predicate["waivers"]
    assert granted["waiver"] == waiver["id"] and granted["granted_by"] == f"user:{officer2.pk}"
    assert len(granted["justification_sha256"]) == 64
    assert predicate["deciders"] == [f"user:{officer.pk}"]
