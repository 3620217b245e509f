import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from governance.env import env_bool, env_bytes, env_choice, env_float, env_int, env_list, env_path, env_str
from tests.conftest import ROOT


def test_unset_and_blank_values_fall_back_to_the_default():
    assert env_str("X", "d", environ={}) == "d"
    assert env_int("X", 5, environ={"X": "  "}) == 5
    assert env_bool("X", True, environ={}) is True


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False), ("FALSE", False)])
def test_booleans(raw, expected):
    assert env_bool("DEBUG", False, environ={"DEBUG": raw}) is expected


def test_a_bad_boolean_names_the_variable_and_the_accepted_form():
    with pytest.raises(ImproperlyConfigured, match=r"Setting DEBUG: expected a boolean .* got 'maybe'"):
        env_bool("DEBUG", False, environ={"DEBUG": "maybe"})


def test_integers_are_checked_against_their_minimum():
    assert env_int("N", 1, minimum=0, environ={"N": "7"}) == 7
    with pytest.raises(ImproperlyConfigured, match="expected an integer, got 'seven'"):
        env_int("N", 1, environ={"N": "seven"})
    with pytest.raises(ImproperlyConfigured, match="expected an integer >= 1"):
        env_int("N", 1, minimum=1, environ={"N": "0"})


@pytest.mark.parametrize(("raw", "expected"), [("1024", 1024), ("50MB", 50_000_000), ("2MiB", 2 * 2**20)])
def test_sizes(raw, expected):
    assert env_bytes("MAX", 0, environ={"MAX": raw}) == expected


def test_a_bad_size_is_refused():
    with pytest.raises(ImproperlyConfigured, match="Setting MAX: expected a size"):
        env_bytes("MAX", 0, environ={"MAX": "lots"})


def test_floats_must_be_finite():
    assert env_float("PSI", 0.15, environ={"PSI": "0.2"}) == 0.2
    with pytest.raises(ImproperlyConfigured, match="expected a finite number, got 'nan'"):
        env_float("PSI", 0.15, environ={"PSI": "nan"})
    with pytest.raises(ImproperlyConfigured, match="expected a number, got 'high'"):
        env_float("PSI", 0.15, environ={"PSI": "high"})


def test_choices_name_the_allowed_values():
    assert env_choice("LOG_LEVEL", "INFO", ("INFO", "DEBUG"), environ={"LOG_LEVEL": "DEBUG"}) == "DEBUG"
    with pytest.raises(ImproperlyConfigured, match="expected one of INFO, DEBUG, got 'LOUD'"):
        env_choice("LOG_LEVEL", "INFO", ("INFO", "DEBUG"), environ={"LOG_LEVEL": "LOUD"})


def test_lists_refuse_empty_items():
    assert env_list("HOSTS", [], environ={"HOSTS": "a.example, b.example"}) == ["a.example", "b.example"]
    with pytest.raises(ImproperlyConfigured, match="without empty items"):
        env_list("HOSTS", [], environ={"HOSTS": "a,,b"})


def test_relative_paths_resolve_against_the_base(tmp_path):
    assert env_path("P", tmp_path / "x", base=tmp_path, environ={"P": "y"}) == tmp_path / "y"
    assert env_path("P", tmp_path / "x", base=tmp_path, environ={}) == tmp_path / "x"


def _settings_in_subprocess(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG"}
    }
    clean.update({"VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "governance.settings", **env})
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'])"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_the_service_refuses_to_start_on_a_bad_value(tmp_path):
    result = _settings_in_subprocess(tmp_path, MAX_ARTIFACT_BYTES="huge")
    assert result.returncode != 0
    assert "Setting MAX_ARTIFACT_BYTES: expected a size" in result.stderr


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    result = _settings_in_subprocess(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "Setting SECRET_KEY: required when DEBUG is off" in result.stderr


def test_the_embedded_default_uses_sqlite_and_keeps_a_generated_key(tmp_path):
    first = _settings_in_subprocess(tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "django.db.backends.sqlite3"
    key = (tmp_path / "secret_key").read_text()
    assert len(key) > 40
    assert _settings_in_subprocess(tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_an_unsupported_database_url_is_refused(tmp_path):
    result = _settings_in_subprocess(tmp_path, DATABASE_URL="mysql://u@h/db", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "Setting DATABASE_URL" in result.stderr
