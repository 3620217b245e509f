"""The data-only policy: what is refused before anything loads, and the message that says why."""

import zipfile

import numpy as np
import pytest
import skops.io
import yaml
from sklearn.naive_bayes import GaussianNB

from mlio.acceptance import validate_artifact
from mlio.artifacts import (
    ArtifactFormat,
    ArtifactRejected,
    check_allowed,
    detect_format,
    extract_archive,
)
from tests.mlio.artifacts.builders import classification, write_zip


class HomeMadeModel:
    """Not on the trusted list: skops would have to import and build it from the file."""

    def __init__(self) -> None:
        self.weights = np.ones(4)

    def predict(self, X):
        return X @ self.weights


def _refusal(fmt, path, **kwargs) -> ArtifactRejected:
    with pytest.raises(ArtifactRejected) as caught:
        check_allowed(fmt, path, **{"allow_pickle": False, **kwargs})
    return caught.value


@pytest.mark.parametrize("name", ["pickle", "joblib"])
def test_pickles_are_refused_with_what_to_do_instead(artifact, name):
    refusal = _refusal(ArtifactFormat.PICKLE, artifact(name).path)
    assert refusal.code == "pickle_not_allowed"
    assert "run code when loaded" in refusal.message
    assert "skops.io.dump" in refusal.message
    assert "ALLOW_PICKLE_ARTIFACTS" in refusal.message


@pytest.mark.parametrize("name", ["pickle", "joblib", "mlflow_cloudpickle"])
def test_a_deployment_that_allows_pickles_lets_them_through(artifact, name):
    built = artifact(name)
    check_allowed(built.fmt, built.path, allow_pickle=True)


def test_an_mlflow_model_that_unpickles_is_refused_naming_its_serialization(artifact):
    refusal = _refusal(ArtifactFormat.MLFLOW, artifact("mlflow_cloudpickle").path)
    assert refusal.code == "unsafe_mlflow_flavor"
    assert "serialization_format=cloudpickle" in refusal.message
    assert "serialization_format='skops'" in refusal.message


@pytest.mark.parametrize("name", ["mlflow_skops", "mlflow_xgboost"])
def test_mlflow_flavors_that_load_natively_are_allowed(artifact, name):
    check_allowed(ArtifactFormat.MLFLOW, artifact(name).path, allow_pickle=False)


def _rewrite_mlflow(source, target, change) -> None:
    """Copy a zipped MLflow model, passing its MLmodel (parsed) through ``change``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename.endswith("MLmodel"):
                mlmodel = yaml.safe_load(data)
                change(mlmodel)
                data = yaml.safe_dump(mlmodel).encode()
            new.writestr(info.filename, data)


def test_an_mlmodel_claiming_skops_for_a_pickled_file_is_not_believed(artifact, tmp_path):
    lying = tmp_path / "lying.zip"
    _rewrite_mlflow(
        artifact("mlflow_cloudpickle").path,
        lying,
        lambda m: m["flavors"]["sklearn"].update(serialization_format="skops"),
    )
    assert _refusal(ArtifactFormat.MLFLOW, lying).code == "unsafe_mlflow_flavor"


def test_a_custom_pyfunc_model_is_refused(tmp_path):
    mlmodel = {
        "flavors": {"python_function": {"loader_module": "mlflow.pyfunc.model", "python_model": "python_model.pkl"}}
    }
    path = write_zip(
        tmp_path / "pyfunc.zip", {"MLmodel": yaml.safe_dump(mlmodel).encode(), "python_model.pkl": b"\x80\x04."}
    )
    refusal = _refusal(ArtifactFormat.MLFLOW, path)
    assert refusal.code == "unsafe_mlflow_flavor"
    assert "loader_module=mlflow.pyfunc.model" in refusal.message


def test_a_skops_file_with_a_type_outside_our_list_is_refused_naming_it(tmp_path):
    path = tmp_path / "home_made.skops"
    skops.io.dump(HomeMadeModel(), path)
    refusal = _refusal(detect_format(path), path)
    assert refusal.code == "untrusted_types"
    assert f"{__name__}.HomeMadeModel" in refusal.message


def test_our_list_decides_even_for_types_skops_trusts_by_default(tmp_path):
    path = tmp_path / "naive_bayes.skops"
    skops.io.dump(GaussianNB().fit(*classification()), path)
    assert skops.io.get_untrusted_types(file=path) == []  # skops alone would load it
    refusal = _refusal(ArtifactFormat.SKOPS, path)
    assert refusal.code == "untrusted_types"
    assert "sklearn.naive_bayes.GaussianNB" in refusal.message


def test_the_trusted_types_an_mlmodel_lists_are_ignored(tmp_path):
    model = tmp_path / "model.skops"
    skops.io.dump(HomeMadeModel(), model)
    mlmodel = {
        "flavors": {
            "sklearn": {
                "pickled_model": "model.skops",
                "serialization_format": "skops",
                "skops_trusted_types": [f"{__name__}.HomeMadeModel"],
            }
        }
    }
    path = write_zip(
        tmp_path / "m.zip", {"MLmodel": yaml.safe_dump(mlmodel).encode(), "model.skops": model.read_bytes()}
    )
    refusal = _refusal(ArtifactFormat.MLFLOW, path)
    assert refusal.code == "untrusted_types"
    assert "HomeMadeModel" in refusal.message


@pytest.mark.parametrize("member", ["../outside.txt", "model/../../outside.txt", "/etc/cron.d/job", "a\\..\\b"])
def test_a_zip_member_that_would_land_outside_the_folder_is_refused(artifact, tmp_path, member):
    path = tmp_path / "traversal.zip"
    path.write_bytes(artifact("mlflow_skops").path.read_bytes())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(member, b"payload")
    for refuse in (detect_format, lambda p: check_allowed(ArtifactFormat.MLFLOW, p, allow_pickle=False)):
        with pytest.raises(ArtifactRejected) as caught:
            refuse(path)
        assert caught.value.code == "unsafe_archive"
        assert repr(member) in caught.value.message
    with pytest.raises(ArtifactRejected):
        extract_archive(path, tmp_path / "out", max_unpacked_bytes=2**30)
    assert not (tmp_path / "outside.txt").exists()


def test_a_symbolic_link_in_a_zip_is_refused(artifact, tmp_path):
    path = tmp_path / "link.zip"
    path.write_bytes(artifact("mlflow_skops").path.read_bytes())
    link = zipfile.ZipInfo("model/requirements.txt.link")
    link.external_attr = (0o120777 << 16) | 0
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(link, "/etc/passwd")
    assert _refusal(ArtifactFormat.MLFLOW, path).code == "unsafe_archive"


def test_a_zip_that_unpacks_beyond_the_cap_is_refused(tmp_path):
    bomb = tmp_path / "bomb.skops"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b"{}")
        archive.writestr("zeros.npy", bytes(8 * 2**20))
    assert bomb.stat().st_size < 2**16
    refusal = _refusal(ArtifactFormat.SKOPS, bomb, max_unpacked_bytes=2**20)
    assert refusal.code == "unsafe_archive"
    assert "unpacks to" in refusal.message


def test_an_oversize_file_is_refused_before_anything_reads_it(artifact):
    path = artifact("xgboost_json").path
    with pytest.raises(ArtifactRejected) as caught:
        validate_artifact(
            path,
            max_bytes=path.stat().st_size - 1,
            allow_pickle=False,
            sample_csv=None,
            feature_names=None,
            timeout_s=5,
            memory_mb=512,
        )
    assert caught.value.code == "too_large"
    assert "MAX_ARTIFACT_BYTES" in caught.value.message


def test_an_onnx_model_with_external_tensors_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((4, 1), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])],
        [weights],
    )
    path = tmp_path / "model.onnx"
    onnx.save_model(
        helper.make_model(graph), path, save_as_external_data=True, location="weights.bin", size_threshold=0
    )
    with pytest.raises(ArtifactRejected) as caught:
        detect_format(path)
    assert caught.value.code == "onnx_external_data"
    assert "save_as_external_data=False" in caught.value.message
