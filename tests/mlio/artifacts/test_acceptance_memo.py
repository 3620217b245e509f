"""An accepted probe answer is kept per process under the digests of everything it depends on."""

import pytest

from mlio import acceptance, sandbox
from mlio.artifacts import ArtifactRejected
from tests.mlio.artifacts.test_sandbox import _sample, _validate


@pytest.fixture
def probes(monkeypatch):
    """Counts the children started, and starts each one for real."""
    calls = []
    real = sandbox.probe

    def counting(*args, **kwargs):
        calls.append(kwargs.get("sample_csv"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sandbox, "probe", counting)
    monkeypatch.setattr(acceptance, "_ACCEPTED", type(acceptance._ACCEPTED)())
    return calls


def test_the_same_bytes_and_sample_are_probed_once(artifact, tmp_path, probes):
    built = artifact("pipeline")
    sample = _sample(built, tmp_path)
    first = _validate(built.path, sample_csv=sample)
    again = _validate(built.path, sample_csv=sample)
    assert len(probes) == 1
    assert again == first
    assert again.sample_predictions == first.sample_predictions > 0


def test_another_sample_or_other_limits_probe_again(artifact, tmp_path, probes):
    built = artifact("pipeline")
    sample = _sample(built, tmp_path)
    _validate(built.path, sample_csv=sample)
    other = tmp_path / "other.csv"
    built.rows.head(3).to_csv(other, index=False)
    _validate(built.path, sample_csv=str(other))
    _validate(built.path, sample_csv=sample, memory_mb=1536)
    assert len(probes) == 3


def test_a_refusal_is_not_kept(artifact, tmp_path, probes):
    built = artifact("random_forest")
    missing = _sample(built, tmp_path, columns=["f0", "f1", "f3"])
    for _ in range(2):
        with pytest.raises(ArtifactRejected):
            _validate(built.path, sample_csv=missing)
    assert len(probes) == 2
