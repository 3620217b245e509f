"""Bootstrap resampling (of cells or rows) and percentile confidence intervals; Django-free."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .counts import _binary_disparities, _Cells, _confusion, _pair_metrics, _rates, _theil
from .eligibility import _both_tables
from .groupings import _Grouping
from .inputs import _Settings
from .results import Estimate

PERCENTILES = (2.5, 97.5)  # the 95% percentile interval


def _cell_bootstrap(
    cells: _Cells,
    groupings: Sequence[_Grouping],
    privileged: Sequence[int],
    eligible: Sequence[np.ndarray],
    settings: _Settings,
) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """Resampled statistics per grouping, (resamples, groups) or (resamples,), and the resampled Theil index.

    The disparities are resampled over the groups eligible on the full data and, under ALL_GROUPS, over all."""
    rng = np.random.default_rng(settings.cell_seed)
    n = int(round(cells.counts.sum()))
    # Drawing n rows with replacement lands in each cell a multinomial number of times.
    draws = rng.multinomial(n, cells.counts / n, size=settings.n_bootstrap).astype(np.float64)
    per_grouping = []
    for grouping, top, judged in zip(groupings, privileged, eligible, strict=True):
        rates = _rates(_confusion(draws, cells, grouping))
        pairs = {f"aif360_{name}": value for name, value in _pair_metrics(rates, top).items()}
        per_grouping.append({**rates, **_both_tables(_binary_disparities, rates, judged), **pairs})
    return per_grouping, _theil(draws, cells)


def _row_bootstrap(
    seed: np.random.SeedSequence, n_resamples: int, n_rows: int, statistics: Callable[[np.ndarray], list[dict]]
) -> list[dict[str, np.ndarray]]:
    """Statistics of row resamples (row weights = how often each row was drawn), stacked per grouping."""
    rng = np.random.default_rng(seed)
    shapes = [{name: np.shape(value) for name, value in stats.items()} for stats in statistics(np.ones(n_rows))]
    draws = [
        statistics(np.bincount(rng.integers(0, n_rows, size=n_rows), minlength=n_rows).astype(np.float64))
        for _ in range(n_resamples)
    ]
    return [
        {
            name: np.array([d[i][name] for d in draws], dtype=np.float64).reshape(n_resamples, *shape)
            for name, shape in grouping_shapes.items()
        }
        for i, grouping_shapes in enumerate(shapes)
    ]


def _interval(samples: np.ndarray) -> tuple[float | None, float | None]:
    defined = samples[np.isfinite(samples)]
    if defined.size == 0:
        return None, None
    low, high = np.percentile(defined, PERCENTILES)
    return float(low), float(high)


def _estimate(value: float, samples: np.ndarray) -> Estimate:
    value = float(value)
    return Estimate(value if math.isfinite(value) else None, _interval(samples))
