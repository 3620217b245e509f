"""Reads of production monitoring: which windows speak for a version, and who may see them."""

from core.permissions import readable_rows
from monitoring.models import ProductionWindow


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
