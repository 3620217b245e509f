"""Artifacts built once per session, on demand: a test asking for one format trains only that model."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.mlio.artifacts.builders import BUILDERS, Built


@pytest.fixture(scope="session")
def artifact(tmp_path_factory) -> Callable[[str], Built]:
    folder = tmp_path_factory.mktemp("artifacts")
    built: dict[str, Built] = {}

    def get(name: str) -> Built:
        if name not in built:
            built[name] = BUILDERS[name](folder / name)
        return built[name]

    return get


@pytest.fixture
def copy_of(tmp_path) -> Callable[[Path, int | None], Path]:
    """A copy of a file under another name, optionally cut to its first ``keep`` bytes."""

    def copy(source: Path, keep: int | None = None, name: str = "upload.bin") -> Path:
        data = source.read_bytes()
        target = tmp_path / name
        target.write_bytes(data if keep is None else data[:keep])
        return target

    return copy
