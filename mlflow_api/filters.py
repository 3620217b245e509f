"""MLflow search filters (`name = 'credit'`, `name LIKE 'credit%'`, `tags.team = 'risk'`, joined by AND)
parsed into clauses; Django-free. A filter this service cannot honour is refused, never ignored."""

import re
from dataclasses import dataclass

_CLAUSE = re.compile(
    r"""\s*(?P<key>(?:tags?\.)?(?:`[^`]+`|[A-Za-z_][\w.]*))\s*"""
    r"""(?P<op>!=|=|(?i:ilike)|(?i:like))\s*"""
    r"""(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*"""
)
_AND = re.compile(r"\s+(?i:and)\s+")


class FilterInvalid(ValueError):
    """A filter string that cannot be read, or names a key that cannot be filtered on."""


@dataclass(frozen=True)
class Clause:
    key: str  # "name", "run_id", ... or "tags.<key>" (MLflow also spells it tag.<key>)
    op: str  # "=", "!=", "LIKE", "ILIKE"
    value: str


def parse_filter(text: str | None, keys: frozenset[str]) -> list[Clause]:
    """The clauses of a filter, each on one of `keys` or on a tag; an empty filter has none."""
    if not text or not text.strip():
        return []
    clauses = []
    for part in _AND.split(text.strip()):
        match = _CLAUSE.fullmatch(part)
        if not match:
            raise FilterInvalid(f"filter: cannot read {part.strip()!r}; expected <key> =|!=|LIKE|ILIKE '<value>'.")
        key = re.sub(r"^tag\.", "tags.", match["key"]).replace("`", "")
        if key not in keys and not key.startswith("tags."):
            raise FilterInvalid(
                f"filter: cannot filter on {key!r}; use one of {', '.join(sorted(keys))} or tags.<key>."
            )
        value = re.sub(r"\\(.)", r"\1", match["value"][1:-1])
        clauses.append(Clause(key, match["op"].upper(), value))
    return clauses


def like_regex(pattern: str) -> str:
    """SQL LIKE (% any run, _ one character) as an anchored regular expression."""
    parts = (".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern)
    return "^" + "".join(parts) + "$"
