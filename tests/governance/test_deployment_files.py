"""The image and the compose file, read as files: no Docker daemon runs here, so these check what can be checked
without one. Every app container starts after the migrations have run; every volume an app container mounts
exists in the image, owned by the user the image runs as (a fresh named volume takes that owner)."""

import re
import shlex

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = [name for name, service in SERVICES.items() if service.get("build") == "."]
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def _command(service: dict) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else shlex.join(command)


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_app_roles_share_one_image():
    assert set(APP_SERVICES) == {"migrate", "web", "worker", "beat"}
    assert {SERVICES[name]["image"] for name in APP_SERVICES} == {"verity:latest"}


def test_only_the_one_shot_service_migrates():
    migrating = [name for name in SERVICES if "manage.py migrate" in _command(SERVICES[name])]
    assert migrating == ["migrate"]
    assert "create_signing_key" in _command(SERVICES["migrate"])
    assert "ports" not in SERVICES["migrate"] and "healthcheck" not in SERVICES["migrate"]


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_web_worker_and_beat_start_after_the_migrations_succeeded(name):
    depends = SERVICES[name]["depends_on"]
    assert depends["migrate"] == {"condition": "service_completed_successfully"}
    assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"


def test_every_dependency_names_a_service_and_a_condition_it_can_meet():
    for name, service in SERVICES.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in SERVICES and target != name, (name, target)
            assert rule["condition"] in CONDITIONS, (name, target)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[target], (name, target)
    assert "depends_on" not in SERVICES["postgres"] and "depends_on" not in SERVICES["redis"]


def test_mounted_volumes_are_declared_and_storage_is_the_one_the_app_is_told():
    declared = set(COMPOSE["volumes"])
    for name in APP_SERVICES:
        service = SERVICES[name]
        mounts = dict(volume.split(":", 1) for volume in service["volumes"])
        assert set(mounts) <= declared
        assert mounts["storage"] == service["environment"]["STORAGE_ROOT"] == "/srv/storage"
        assert mounts["appvar"] == service["environment"]["VAR_DIR"] == "/srv/var"


def test_the_image_creates_every_app_mount_owned_by_the_user_it_runs_as():
    instructions = _instructions()
    users = [value for op, value in instructions if op == "USER"]
    assert len(users) == 1, users
    user = users[0]
    before_user = [value for op, value in instructions[: instructions.index(("USER", user))] if op == "RUN"]
    mounts = {volume.split(":", 1)[1] for name in APP_SERVICES for volume in SERVICES[name]["volumes"]}
    assert mounts == {"/srv/storage", "/srv/var"}
    for path in mounts:
        made = [run for run in before_user if re.search(rf"mkdir -p [^&;]*{re.escape(path)}\b", run)]
        owned = [run for run in before_user if re.search(rf"chown {user}(:{user})? [^&;]*{re.escape(path)}\b", run)]
        assert made and owned, f"{path} is not created and given to {user} before USER"


def test_container_health_probes_use_the_cheap_anonymous_liveness_probe():
    # /readyz asks every dependency and needs a staff account: a container probe would wait on it, and fail.
    probe = SERVICES["web"]["healthcheck"]["test"]
    assert any("/healthz" in part for part in probe) and not any("/readyz" in part for part in probe)
    checks = [value for op, value in _instructions() if op == "HEALTHCHECK"]
    assert len(checks) == 1 and "/healthz" in checks[0] and "timeout=" in checks[0]
