"""Bias audit of a model's predictions: per-group metrics, disparities, bootstrap intervals and verdicts.

Pure computation (no Django, no ORM): arrays in, a JSON-ready :class:`BiasAuditResult` out.

Point estimates come from Fairlearn (``MetricFrame`` and its disparity functions) and, for classifiers,
from AIF360 (``ClassificationMetric``). Where the libraries compute the same number they must agree to
``TOLERANCE``, and so must this module's own count formulas (which the bootstrap uses), or the audit raises
:class:`FairnessMismatch` instead of reporting numbers nobody can vouch for.

Classifier rows are collapsed to their distinct (label, prediction, groups) cells with the cell counts as
sample weights: every classification metric here is a function of weighted confusion counts, so the numbers
are those of the raw rows. The bootstrap resamples the cells (a multinomial draw of n rows over the cells)
rather than the rows, which makes 1,000 resamples of a million rows a few small matrix products.

The package's modules: ``results`` (public types, thresholds, constants), ``inputs`` (settings and input
validation), ``groupings``, ``counts`` (count formulas), ``eligibility`` (the groups with at least
min_group_size rows, which the verdict and the headline disparities are taken over), ``libraries`` (Fairlearn
and AIF360 calls), ``agreement``, ``bootstrap``, ``verdicts``, ``audit`` (``bias_audit`` and assembling) and
``charts`` (loaded only when a chart is drawn, so audits without charts never load matplotlib).
"""

from .audit import bias_audit, group_metric_chart_png
from .counts import _binary_disparities, _collapse, _confusion, _pair_metrics, _rates, _regression_stats, _theil
from .groupings import _groupings
from .inputs import _rows, _settings
from .libraries import _aif360_grouping, demographic_parity_difference
from .results import (
    AIF360_PAIR_METRICS,
    DEFAULT_THRESHOLDS,
    FOUR_FIFTHS_SOURCE,
    BiasAuditInputError,
    BiasAuditResult,
    Check,
    Estimate,
    FairnessMismatch,
    FeatureAudit,
    GroupResult,
    InsufficientGroup,
    PairResult,
    Thresholds,
    Verdict,
)

__all__ = [
    # The public API.
    "bias_audit",
    "group_metric_chart_png",
    "BiasAuditResult",
    "FeatureAudit",
    "GroupResult",
    "InsufficientGroup",
    "PairResult",
    "Estimate",
    "Verdict",
    "Check",
    "Thresholds",
    "DEFAULT_THRESHOLDS",
    "FOUR_FIFTHS_SOURCE",
    "AIF360_PAIR_METRICS",
    "BiasAuditInputError",
    "FairnessMismatch",
    # Internals the tests read as ``fairness.X``. Patching these here does not reach the modules that use
    # them: patch the submodule that looks the name up (``audit``, ``bootstrap``, ``libraries``) instead.
    "_aif360_grouping",
    "_binary_disparities",
    "_collapse",
    "_confusion",
    "_groupings",
    "_pair_metrics",
    "_rates",
    "_regression_stats",
    "_rows",
    "_settings",
    "_theil",
    "demographic_parity_difference",
]
