"""Allowed MLflow stores and artifact locations, compared as parsed parts (pure: no Django, no MLflow)."""

import pytest

from mlio.mlflow.allowed import UriRefused, artifact_uri_check, tracking_uri_check


@pytest.fixture
def allowed(tmp_path):
    (tmp_path / "allowed").mkdir()
    return [
        f"sqlite:///{tmp_path}/allowed/mlflow.db",
        "http://allowed.example",
        "https://mlflow.example.org:8443/team-a",
        f"file://{tmp_path}/mlruns",
        "s3://bucket/mlflow",
    ]


@pytest.mark.parametrize(
    "uri",
    [
        "http://allowed.example@127.0.0.1:31555",
        "http://user:pw@allowed.example",
        "http://allowed.example.evil.org",
        "http://allowed.example:8080",
        "https://allowed.example",
        "https://mlflow.example.org:8443/team-ab",
        "https://mlflow.example.org/team-a",
        "https://mlflow.example.org:8443/team-a/../team-b",
        "https://mlflow.example.org:8443/team-a/%2e%2e/team-b",
        "databricks",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_uris_that_only_look_allowed_are_refused(allowed, uri):
    with pytest.raises(UriRefused):
        tracking_uri_check(uri, allowed)


def test_a_sqlite_path_is_resolved_before_it_is_compared(allowed, tmp_path):
    with pytest.raises(UriRefused):
        tracking_uri_check(f"sqlite:///{tmp_path}/allowed/../secret.db", allowed)
    (tmp_path / "allowed" / "link.db").symlink_to(tmp_path / "secret.db")
    with pytest.raises(UriRefused):
        tracking_uri_check(f"sqlite:///{tmp_path}/allowed/link.db", allowed)
    assert tracking_uri_check(f"sqlite:///{tmp_path}/allowed/./mlflow.db", allowed).path.endswith("/allowed/mlflow.db")
    assert not (tmp_path / "secret.db").exists()


def test_the_services_own_database_is_never_a_store(tmp_path):
    own = tmp_path / "var" / "governance.sqlite3"
    with pytest.raises(UriRefused, match="own database"):
        tracking_uri_check(f"sqlite:///{own}", [f"sqlite:///{tmp_path}"], forbidden_files=[str(own)])


@pytest.mark.parametrize(
    "uri",
    [
        "http://allowed.example",
        "http://ALLOWED.example.:80/ajax-api",
        "https://mlflow.example.org:8443/team-a/",
        "https://mlflow.example.org:8443/team-a/sub",
        "s3://bucket/mlflow",
    ],
)
def test_allowed_uris_pass_in_any_equivalent_spelling(allowed, uri):
    assert tracking_uri_check(uri, allowed) is not None


def test_a_named_store_passes_only_when_listed_verbatim():
    assert tracking_uri_check("databricks", ["databricks"]) is None


def test_artifacts_lie_in_an_allowed_stores_folder_or_behind_the_tracking_server(allowed, tmp_path):
    tracking = f"sqlite:///{tmp_path}/allowed/mlflow.db"
    assert artifact_uri_check(f"file://{tmp_path}/allowed/artifacts/1/model", tracking, allowed)
    assert artifact_uri_check(f"{tmp_path}/mlruns/0/abc/artifacts", tracking, allowed)
    assert artifact_uri_check("s3://bucket/mlflow/1/abc", tracking, allowed)
    assert artifact_uri_check("mlflow-artifacts:/1/abc/artifacts", "http://allowed.example", allowed) is None
    refused = [
        f"file://{tmp_path}/elsewhere/model",
        f"file://{tmp_path}/allowed/../elsewhere",
        "file://otherhost/share/model",
        "s3://other-bucket/mlflow",
        "http://169.254.169.254/latest/meta-data/",
        "https://user:pw@mlflow.example.org:8443/team-a/x",
    ]
    for uri in refused:
        with pytest.raises(UriRefused):
            artifact_uri_check(uri, tracking, allowed)
    with pytest.raises(UriRefused):
        artifact_uri_check("mlflow-artifacts:/1/abc", tracking, allowed)  # no server proxies it for a local store
    with pytest.raises(UriRefused):
        artifact_uri_check("mlflow-artifacts://10.0.0.5:5000/1/abc", "http://allowed.example", allowed)
