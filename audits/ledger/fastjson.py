"""A faster parser for the service's own verification, with the standalone verifier's verdicts.

The standalone verifier (audits/ledger/verify.py) parses with the standard library so that an
auditor needs nothing else; inside the service, orjson parses a stored record in about a third of
the time. ChainVerifier trusts the faster parser only for events that pass every check and
diagnoses any other with ``parse_json``, so what matters is that orjson never accepts a body that
``parse_json`` refuses and reads keys and strings alike:
- a body must start with "{" and end with "}" (``parse_json`` refuses surrounding whitespace,
  orjson allows it);
- what orjson refuses (lone surrogate escapes, which the standard library reads) goes to
  ``parse_json``, which gives the value or the error;
- orjson reads integers beyond 64 bits as floats: harmless, since "v" and "seq" must be ints and
  a float there sends the event to ``parse_json`` for its diagnosis.
tests/audits/ledger/test_fastjson.py compares the two on the edge cases.
"""

from typing import Any

import orjson

from audits.ledger.verify import parse_json

_OPEN, _CLOSE = ord("{"), ord("}")


def parse_record(body: bytes) -> Any:
    if body and body[0] == _OPEN and body[-1] == _CLOSE:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return parse_json(body)
