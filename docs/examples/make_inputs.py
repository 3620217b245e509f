"""Makes the inputs docs/ci.md's job reads: model.skops (a scikit-learn classifier saved with skops) and eval.csv
(its evaluation data, with the sensitive features the bias audit compares), in the current folder or the one
named by --out.

    python docs/examples/make_inputs.py                  # an audit that passes
    python docs/examples/make_inputs.py --skewed         # an audit that fails, to see what CI is told

The data are synthetic and the same on every run (a fixed seed). The model takes two inputs, `income` and
`debt_ratio`, and predicts `default` (1: the applicant defaults). The evaluation data cross every applicant with
each `sex` (F, M) and `race` (A, B), so every group holds the same applicants and the audit passes; with
--skewed the women's debt ratio is raised by 0.6, so the model refuses them far more often and the selection
rate ratio falls below the four-fifths limit.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io
from sklearn.linear_model import LogisticRegression

FEATURES = ["income", "debt_ratio"]
SEED = 7
APPLICANTS = 400


def applicants(n: int = APPLICANTS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"income": rng.normal(50, 15, n).round(2), "debt_ratio": rng.uniform(0, 1, n).round(3)})
    noise = rng.normal(0, 0.3, n)
    frame["default"] = ((frame.debt_ratio * 2 - frame.income / 50 + noise) > 0.3).astype(int)
    return frame


def evaluation_data(people: pd.DataFrame, *, skewed: bool = False) -> pd.DataFrame:
    frames = [people.assign(sex=sex, race=race) for sex in ("F", "M") for race in ("A", "B")]
    data = pd.concat(frames, ignore_index=True)
    if skewed:
        women = data.sex == "F"
        data.loc[women, "debt_ratio"] = (data.loc[women, "debt_ratio"] + 0.6).clip(upper=1).round(3)
    return data


def make_inputs(out: Path, *, skewed: bool = False) -> tuple[Path, Path]:
    """Writes model.skops and eval.csv into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    people = applicants()
    model = LogisticRegression(max_iter=200).fit(people[FEATURES], people["default"])
    model_path, data_path = out / "model.skops", out / "eval.csv"
    skops.io.dump(model, model_path)
    evaluation_data(people, skewed=skewed).to_csv(data_path, index=False)
    return model_path, data_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="the folder to write into (default: here)")
    parser.add_argument("--skewed", action="store_true", help="data on which the bias audit fails")
    args = parser.parse_args()
    for path in make_inputs(args.out, skewed=args.skewed):
        print(path)


if __name__ == "__main__":
    main()
