import pytest

from mlio.mlflow import SOURCE_HINT, MlflowImportError, import_model, parse_source


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/credit-risk/3", ("version", "credit-risk", "3")),
        ("models:/Credit Risk v2/12", ("version", "Credit Risk v2", "12")),
        ("models:/credit-risk@production", ("alias", "credit-risk", "production")),
        ("models:/m-0123456789abcdef0123456789abcdef", ("logged", "m-0123456789abcdef0123456789abcdef", "")),
        ("runs:/0a1b2c3d4e5f/model", ("run", "0a1b2c3d4e5f", "model")),
        ("runs:/0a1b2c3d4e5f/outputs/model/", ("run", "0a1b2c3d4e5f", "outputs/model")),
        ("  models:/credit-risk/1\n", ("version", "credit-risk", "1")),
    ],
)
def test_accepts_model_versions_aliases_and_run_paths(uri, expected):
    assert parse_source(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "credit-risk/1",
        "models:/credit-risk",
        "models:/credit-risk/0",
        "models:/credit-risk/01",
        "models:/credit-risk/-1",
        "models:/credit-risk/latest",
        "models:/credit-risk/Production",
        "models:/credit-risk/1/extra",
        "models:/credit-risk@",
        "models:/credit-risk@prod/extra",
        "models://profile@databricks/credit-risk/1",
        "runs:/0a1b2c3d4e5f",
        "runs:/0a1b2c3d4e5f/",
        "runs://0a1b2c3d4e5f/model",
        "runs:/0a1b2c3d4e5f/../other-run/model",
        "runs:/0a1b2c3d4e5f/./model",
        "runs:/0a1b2c3d4e5f/%2e%2e/other-run/model",
        "runs:/0a1b2c3d4e5f/a//model",
        "runs:/0a1b2c3d4e5f/a\\model",
        "runs:/0a1b'/model",
        "s3://bucket/model",
    ],
)
def test_refuses_anything_else_with_one_clear_message(uri):
    with pytest.raises(MlflowImportError) as caught:
        parse_source(uri)
    assert caught.value.code == "bad_uri"
    assert (
        caught.value.message
        == SOURCE_HINT
        == ("source: expected models:/<name>/<version>, models:/<logged model id> or runs:/<run_id>/<path>")
    )


def test_a_bad_source_is_refused_before_the_store_is_touched(tmp_path):
    missing = tmp_path / "absent" / "mlflow.db"
    with pytest.raises(MlflowImportError) as caught:
        import_model(tracking_uri=f"sqlite:///{missing}", source="models:/credit-risk", workdir=tmp_path)
    assert caught.value.code == "bad_uri"
    assert not missing.parent.exists()
