import logging
import re

from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import ServiceAccount
from audits.models import AuditEvent
from registry.models import ApprovalRequest

ROLE = r"(superuser|compliance_officer|auditor|data_scientist)"


def _passwords(out: str) -> dict[str, str]:
    return {name: secret for name, _, secret in re.findall(rf"^\| (\w+)\s+{ROLE}\s+(\S+)\s+\|$", out, re.M)}


def test_demo_setup_creates_one_user_per_role_and_prints_the_accounts_last_in_a_box(capsys, caplog, db, client):
    with caplog.at_level(logging.INFO):
        call_command("demo_setup", url="http://127.0.0.1:8001")
    out = capsys.readouterr().out
    assert [record for record in caplog.records if record.levelno < logging.ERROR] == []  # no library noise
    lines = out.rstrip().splitlines()
    assert re.fullmatch(r"\+-+\+", lines[-1])  # the box closes the output
    assert "Verity demo: http://127.0.0.1:8001/admin/" in out
    passwords = _passwords(out)
    assert set(passwords) == {"admin", "officer", "officer2", "officer3", "auditor", "scientist", "marketer"}
    assert re.search(r"^\| demo-ci\s+ci \(service account\)\s+vt_\S+\s+\|$", out, re.M)
    assert ServiceAccount.objects.filter(name="demo-ci").exists()
    assert client.login(username="officer", password=passwords["officer"])
    assert client.get("/admin/").status_code == 200
    call_command("demo_setup")
    again = capsys.readouterr().out
    assert _passwords(again) == {}  # shown once
    assert "(unchanged: make demo-passwords sets new ones)" in again
    assert get_user_model().objects.get(username="admin").is_superuser
    request = ApprovalRequest.objects.get(version__model__name="demo-credit-scoring")
    assert (request.status, request.target_stage) == ("pending", "production")
    assert request.version.artifact_report["model_class"] == "sklearn.ensemble.RandomForestClassifier"
    assert request.version.model.team.name == "team:credit-risk"
    marketer = get_user_model().objects.get(username="marketer")
    assert marketer.groups.filter(name="team:marketing").exists()
    assert ServiceAccount.objects.get(name="demo-ci").user.groups.filter(name="team:credit-risk").exists()

    call_command("demo_setup", reset_passwords=True)
    reset = _passwords(capsys.readouterr().out)
    assert set(reset) == set(passwords) and reset["officer"] != passwords["officer"]
    assert not client.login(username="officer", password=passwords["officer"])
    assert client.login(username="officer", password=reset["officer"])
    assert AuditEvent.objects.filter(action="user.password_changed").count() == len(reset)
