"""The Tree SHAP kernels go into numba's cache ahead of time, and confined children find them there."""

import os
import subprocess
import sys
from pathlib import Path

from mlio.confinement import child_environment

ROOT = Path(__file__).resolve().parents[2]


def test_the_warm_up_compiles_every_kernel_into_the_cache_a_confined_child_is_pointed_at(tmp_path, monkeypatch):
    cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "evidence.explain.warm"], env=env, check=True, timeout=600)
    indexes = {path.name.split(".")[0] for path in cache.rglob("*.nbi")}
    assert {"tree_paths", "tree_shap"} <= {name.split("-")[0] for name in indexes}, indexes
    compiled = list(cache.rglob("*.nbc"))
    assert compiled

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    assert child_environment(tmp_path)["NUMBA_CACHE_DIR"] == str(cache)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert "NUMBA_CACHE_DIR" not in child_environment(tmp_path)  # the source folder's own cache then
