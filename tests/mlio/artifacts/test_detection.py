"""The format comes from the bytes: names and content types are never trusted."""

import gzip
import json
import random

import joblib
import pytest

from mlio.artifacts import ArtifactFormat, ArtifactRejected, detect_format, sha256_file
from tests.mlio.artifacts.builders import BUILDERS, write_zip


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_built_artifact_is_recognised_whatever_its_name(artifact, copy_of, name):
    built = artifact(name)
    # A misleading extension on purpose: only the bytes count.
    assert detect_format(copy_of(built.path, name="model.onnx")) == built.fmt


@pytest.mark.parametrize("compressor", ["zlib", "gzip", "bz2", "xz", "lzma"])
def test_joblib_files_are_pickles_whichever_compressor(artifact, tmp_path, compressor):
    path = tmp_path / "model.skops"
    joblib.dump(artifact("random_forest").model, path, compress=(compressor, 3))
    assert detect_format(path) == ArtifactFormat.PICKLE


@pytest.mark.parametrize(
    "name",
    ["random_forest", "xgboost_json", "xgboost_ubjson", "lightgbm_binary", "onnx_forest", "mlflow_skops", "pickle"],
)
def test_a_cut_off_copy_of_each_kind_is_refused_as_truncated(artifact, copy_of, name):
    source = artifact(name).path
    cut = copy_of(source, keep=source.stat().st_size // 2)
    with pytest.raises(ArtifactRejected) as caught:
        detect_format(cut)
    assert caught.value.code == "truncated"
    assert "incomplete" in caught.value.message


def test_random_bytes_are_an_unknown_format_and_the_message_lists_what_is_accepted(tmp_path):
    noise = random.Random(4).randbytes(4096)
    path = tmp_path / "model.skops"
    path.write_bytes(b"\x00" + noise)
    with pytest.raises(ArtifactRejected) as caught:
        detect_format(path)
    assert caught.value.code == "unknown_format"
    for accepted in ("skops", "XGBoost", "LightGBM", "ONNX", "MLflow"):
        assert accepted in caught.value.message


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(ArtifactRejected, match="empty") as caught:
        detect_format(path)
    assert caught.value.code == "unknown_format"


def test_a_zip_that_is_neither_skops_nor_mlflow_is_refused(tmp_path):
    path = write_zip(tmp_path / "model.zip", {"weights/data.pkl": b"\x80\x04."})
    with pytest.raises(ArtifactRejected, match="neither a skops file") as caught:
        detect_format(path)
    assert caught.value.code == "unknown_format"


def test_json_that_is_not_an_xgboost_model_is_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ArtifactRejected) as caught:
        detect_format(path)
    assert caught.value.code == "unknown_format"


def test_a_compressed_file_without_a_pickle_inside_is_not_taken_for_one(tmp_path):
    path = tmp_path / "model.gz"
    path.write_bytes(gzip.compress(b"tree\nversion=v4\n" * 10))
    with pytest.raises(ArtifactRejected, match="gzip-compressed") as caught:
        detect_format(path)
    assert caught.value.code == "unknown_format"


def test_an_mlflow_model_may_sit_at_the_zip_root_or_in_one_top_folder(artifact, tmp_path):
    assert detect_format(artifact("mlflow_cloudpickle").path) == ArtifactFormat.MLFLOW  # at the root
    assert detect_format(artifact("mlflow_skops").path) == ArtifactFormat.MLFLOW  # under model/
    two_tops = write_zip(tmp_path / "two.zip", {"a/MLmodel": b"flavors: {}", "b/other": b""})
    with pytest.raises(ArtifactRejected):
        detect_format(two_tops)


def test_sha256_matches_hashlib_on_a_file_larger_than_one_chunk(tmp_path):
    import hashlib

    data = random.Random(1).randbytes(3 * 2**20 + 17)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
