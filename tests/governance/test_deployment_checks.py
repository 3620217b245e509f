"""`manage.py check --deploy` is clean in the production configuration, and HTTPS is enforced there
without stopping the health probes, which orchestrators call over plain HTTP."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# What the Makefile or a developer's shell may set, which a production start would not inherit.
INHERITED = {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "SECRET_KEY", "DEBUG", "VERITY_TEST_PASS"}


def _check_deploy(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in INHERITED and not k.startswith("SECURE_")}
    clean.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": "postgres://verity:verity@db.invalid:5432/verity",
            "VAR_DIR": str(tmp_path),
            **env,
        }
    )
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=300)


def test_check_deploy_is_clean_in_the_production_configuration(tmp_path):
    result = _check_deploy(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_a_production_set_up_without_https(tmp_path):
    result = _check_deploy(tmp_path, SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W008" in result.stderr and "security.W004" in result.stderr


@pytest.mark.django_db
def test_plain_http_is_redirected_except_the_health_probes(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    redirected = client.get("/admin/login/")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/admin/login/"
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 401  # answered, not redirected
    # Behind a TLS proxy, a request that came in over HTTPS is served.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_https_responses_carry_hsts(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_the_suite_itself_is_not_redirected(client):
    assert client.get("/healthz").status_code == 200
