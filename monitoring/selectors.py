"""Reads of production monitoring: which windows speak for a version, and who may see them."""

from core.permissions import readable_rows
from monitoring.drift_evidence import window_drift_reading
from monitoring.models import ProductionWindow
from registry.models import ApprovalRequest


def visible_windows(user):
    """Officers, auditors and administrators see every version's windows; others those of their teams' models."""
    return readable_rows(user, ProductionWindow.objects.select_related("version__model"), "version__model")


def windows_current(version, *, as_of=None) -> list[ProductionWindow]:
    """Per time window, the newest finished upload (a later upload brings the labels), oldest window first;
    with as_of, only what had finished by then."""
    newest: dict[tuple, ProductionWindow] = {}
    finished = ProductionWindow.objects.filter(version=version, status=ProductionWindow.Status.SUCCEEDED)
    if as_of is not None:
        finished = finished.filter(finished_at__lte=as_of)
    for window in finished.order_by("window_start", "window_end", "created_at", "pk"):
        newest[(window.window_start, window.window_end)] = window
    return list(newest.values())


def drift_windows_judged(version) -> list[tuple[ProductionWindow, dict]]:
    """The version's checked windows that judged drift, each with its reading, the most recently checked first.

    A version's artifact is fixed when it is registered, so every window of the version was predicted by the
    version's current artifact: these are drift checks of it on production data, as a drift check job is."""
    read = [(window, window_drift_reading(window.result)) for window in windows_current(version)]
    judged = [(window, reading) for window, reading in read if reading is not None]
    return sorted(judged, key=lambda pair: (pair[0].finished_at, pair[0].pk), reverse=True)


def rereviews_opened(version) -> dict[str, ApprovalRequest]:
    """The re-reviews the version's windows opened, by the trail's name of the window that raised them."""
    opened = ApprovalRequest.objects.filter(version=version, trigger_ref__startswith="monitoring.productionwindow:")
    return {request.trigger_ref: request for request in opened}
