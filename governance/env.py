"""Typed readers for settings taken from the environment.

Each helper fails loudly, naming the variable and the accepted form, so a
mistyped value stops the service at start-up instead of changing behaviour.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, environ) -> str | None:
    value = (environ if environ is not None else os.environ).get(name)
    return None if value is None or value.strip() == "" else value.strip()


def _fail(name: str, expected: str, got: str):
    raise ImproperlyConfigured(f"Setting {name}: expected {expected}, got {got!r}")


def env_str(name: str, default: str | None = None, *, environ=None) -> str | None:
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, *, environ=None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    _fail(name, "a boolean (true/false, 1/0, yes/no, on/off)", value)


def env_int(name: str, default: int, *, minimum: int | None = None, environ=None) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        _fail(name, "an integer", value)
    if minimum is not None and number < minimum:
        _fail(name, f"an integer >= {minimum}", value)
    return number


def env_float(name: str, default: float, *, environ=None) -> float:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        _fail(name, "a number", value)
    if number != number or number in (float("inf"), float("-inf")):
        _fail(name, "a finite number", value)
    return number


def env_bytes(name: str, default: int, *, environ=None) -> int:
    """A size such as 512MB, 20KiB or a plain number of bytes."""
    value = _raw(name, environ)
    if value is None:
        return default
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
    number = value.lower().rstrip("bikmg")
    unit = value.lower()[len(number) :]
    if not number.isdigit() or unit not in units:
        _fail(name, "a size such as 52428800, 50MB or 50MiB", value)
    return int(number) * units[unit]


def env_choice(name: str, default: str, choices: tuple[str, ...], *, environ=None) -> str:
    value = _raw(name, environ)
    if value is None:
        return default
    if value not in choices:
        _fail(name, "one of " + ", ".join(choices), value)
    return value


def env_list(name: str, default: list[str], *, environ=None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        _fail(name, "a comma-separated list without empty items", value)
    return items


def env_path(name: str, default: Path, *, base: Path, environ=None) -> Path:
    value = _raw(name, environ)
    path = Path(value) if value is not None else default
    return path if path.is_absolute() else (base / path).resolve()
