"""Files written into tmp_path with pandas."""

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture
def write_csv(tmp_path):
    def write(content: pd.DataFrame | str | bytes, name: str = "data.csv", **to_csv) -> Path:
        path = tmp_path / name
        if isinstance(content, pd.DataFrame):
            content.to_csv(path, index=False, **to_csv)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write


@pytest.fixture
def write_parquet(tmp_path):
    def write(frame: pd.DataFrame, name: str = "data.parquet") -> Path:
        path = tmp_path / name
        frame.to_parquet(path, index=False)
        return path

    return write
