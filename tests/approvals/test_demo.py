import re

from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import ServiceAccount
from registry.models import ApprovalRequest


def test_demo_setup_creates_one_user_per_role_and_prints_passwords_once(capsys, db, client):
    call_command("demo_setup")
    out = capsys.readouterr().out
    passwords = dict(re.findall(r"^\s+(\w+)\s+\S+\s+password: (\S+)$", out, re.M))
    assert set(passwords) == {"admin", "officer", "officer2", "officer3", "auditor", "scientist", "marketer"}
    assert ServiceAccount.objects.filter(name="demo-ci").exists()
    assert client.login(username="officer", password=passwords["officer"])
    assert client.get("/admin/").status_code == 200
    call_command("demo_setup")
    again = capsys.readouterr().out
    assert "password:" not in again
    assert get_user_model().objects.get(username="admin").is_superuser
    request = ApprovalRequest.objects.get(version__model__name="demo-credit-scoring")
    assert (request.status, request.target_stage) == ("pending", "production")
    assert request.version.artifact_report["model_class"] == "sklearn.ensemble.RandomForestClassifier"
    assert request.version.model.team.name == "team:credit-risk"
    marketer = get_user_model().objects.get(username="marketer")
    assert marketer.groups.filter(name="team:marketing").exists()
    assert ServiceAccount.objects.get(name="demo-ci").user.groups.filter(name="team:credit-risk").exists()
