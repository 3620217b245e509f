"""Standalone verifier of the audit trail (docs/audit-trail.md).

    python -m audits.ledger.verify trail.jsonl [--checkpoints cps.json --public-key key.pem] [--json]

Only the standard library, rfc8785 and cryptography are needed, so an auditor
can run it far from the service: never import Django or project settings here.
Events are checked as they stream past, in constant memory; the first failure
is reported. Exit status: 0 verified, 1 verification failed, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from json.scanner import make_scanner
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audits.ledger.hashing import BODY_KEYS, GENESIS_PREV, split_line
from audits.ledger.signing import checkpoint_from_json, checkpoint_signature_valid, load_public_key

_sha256 = hashlib.sha256
SignedCheckpoint = tuple[dict[str, Any], str]
# The columns a database keeps beside each event's hashed body, in the order a stored row gives them
# after (body, hash): each must say what the body says, or a filter on it would hide or misplace the event.
STORED_COLUMNS = ("seq", "prev", "ts", "actor", "action", "object_ref")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in the audit trail")


# JSONDecoder.decode spends as long on its whitespace regexes as on parsing;
# canonical bodies have no surrounding whitespace, so call the C scanner itself.
_scan = make_scanner(json.JSONDecoder(parse_constant=_reject_constant))  # type: ignore[arg-type]  # typeshed


def parse_json(body: bytes) -> Any:
    text = str(body, "utf-8")
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("no JSON value at the start") from None
    if end != len(text):
        raise ValueError(f"extra data after the JSON value at character {end}")
    return value


@dataclass
class VerifyResult:
    ok: bool
    size: int
    head: str
    bad_seq: int | None = None
    reason: str | None = None
    code: str | None = None
    checkpoints_checked: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ChainVerifier:
    """Checks events fed in seq order (``feed`` for stored bytes, ``feed_line`` for export lines)."""

    def __init__(
        self,
        checkpoints: Iterable[SignedCheckpoint] = (),
        public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey] | None = None,
        parse: Callable[[bytes], Any] = parse_json,
        after: tuple[int, str] = (0, GENESIS_PREV),
    ) -> None:
        # ``parse`` only speeds up the common case: an event it reads as well-formed and in place is
        # accepted, anything else is diagnosed with parse_json, so a faster parser (the service passes
        # audits/ledger/fastjson.py) cannot change a verdict unless it accepts what parse_json refuses
        # or misreads keys, "v", "seq", "prev" or the strings compared with a row's columns.
        self._parse = parse
        # ``after``: the seq and hash of the event before the first one fed, to check a stretch of the chain.
        (self._size, self._head), self._checked = after, 0
        self._failure: tuple[int, str, str] | None = None
        self._heads: dict[int, str] = {}
        checkpoints = list(checkpoints)
        # After a key rotation the service's current key and its retired ones: a checkpoint is
        # valid under any of them.
        keys = () if public_key is None else tuple(public_key) if isinstance(public_key, Sequence) else (public_key,)
        if not keys:
            if checkpoints:
                raise ValueError("checkpoints can only be verified with the service's public key")
        else:
            for body, signature in checkpoints:
                self._add_checkpoint(body, signature, keys)
        self._max_size = max(self._heads, default=0)

    def _add_checkpoint(self, body: dict[str, Any], signature: str, keys: tuple[Ed25519PublicKey, ...]) -> None:
        # Rebuilding the body validates its shape and keeps only the signed keys.
        body, signature = checkpoint_from_json({**body, "signature": signature})
        size, head = body["size"], body["head"]
        if self._failure is not None:
            return
        if not any(checkpoint_signature_valid(key, body, signature) for key in keys):
            self._failure = (
                size,
                "bad_checkpoint_signature",
                f"the checkpoint for {size} events (head {head}) has an invalid signature: forged or altered",
            )
        elif self._heads.setdefault(size, head) != head:
            self._failure = (
                size,
                "checkpoint_mismatch",
                f"two validly signed checkpoints give different heads for the first {size} events: "
                "the service signed two different histories",
            )

    def feed(self, body: bytes, claimed_hash: str, *columns: Any) -> None:
        self.feed_many(((body, claimed_hash, *columns),))

    def feed_line(self, line: bytes) -> None:
        self.feed_many(line_pairs((line,)))

    def feed_many(self, events: Iterable[tuple[Any, ...]]) -> None:
        """Checks stored events in seq order until the first failure.

        Each event is (body, claimed hash) or, from a database, (body, claimed hash, *STORED_COLUMNS):
        the row's other columns, ``ts`` as the record writes it, each checked against the hashed body.
        One loop with the per-event checks inline: a million events spend most of their time in
        function calls otherwise. Anything unexpected goes to ``_diagnose``, which finds the reason.
        A body of None stands for an export line that could not be split (its reason in place of the hash).
        """
        if self._failure is not None:
            return
        sha256, parse, keys, heads = _sha256, self._parse, BODY_KEYS, self._heads
        size, head, checked = self._size, self._head, self._checked
        try:
            for event in events:
                seq, body, claimed = size + 1, event[0], event[1]
                if body is not None and sha256(body).hexdigest() == claimed:
                    try:
                        record = parse(body)
                    except (ValueError, RecursionError):
                        record = None
                    if (
                        type(record) is dict
                        and record.keys() == keys
                        and type(record["v"]) is int
                        and record["v"] == 1
                        and type(record["seq"]) is int
                        and record["seq"] == seq
                        and record["prev"] == head
                        and (len(event) == 2 or event[2:] == (seq, head, *_labels(record)))
                    ):
                        expected = heads.get(seq)
                        if expected is None:
                            size, head = seq, claimed
                            continue
                        if expected == claimed:
                            size, head, checked = seq, claimed, checked + 1
                            continue
                self._failure = (seq, *self._diagnose(event, seq, head))
                return
        finally:
            self._size, self._head, self._checked = size, head, checked

    def result(self) -> VerifyResult:
        failure = self._failure or self._truncation()
        if failure is None:
            return VerifyResult(ok=True, size=self._size, head=self._head, checkpoints_checked=self._checked)
        bad_seq, code, reason = failure
        return VerifyResult(False, self._size, self._head, bad_seq, reason, code, self._checked)

    def _diagnose(self, event: tuple[Any, ...], seq: int, prev_head: str) -> tuple[str, str]:
        body, claimed_hash = event[0], event[1]
        if body is None:
            return "malformed", f"the line for seq {seq} is not a trail record: {claimed_hash}"
        actual = _sha256(body).hexdigest()
        if actual != claimed_hash:
            return "hash_mismatch", (
                f"the bytes of event {seq} hash to {actual}, not to its stored hash "
                f"{claimed_hash}: the event or its hash was altered"
            )
        try:
            record = parse_json(body)
        except (ValueError, RecursionError) as exc:
            return "malformed", f"event {seq} is not valid UTF-8 JSON: {exc}"
        if type(record) is not dict or record.keys() != BODY_KEYS or record["v"] != 1 or type(record["v"]) is not int:
            return "malformed", _shape_problem(record, seq)
        if record["seq"] != seq or type(record["seq"]) is not int:
            return _seq_problem(seq, record["seq"])
        if record["prev"] != prev_head:
            return "broken_link", (
                f"event {seq} links to prev {record['prev']}, but the event before it has hash "
                f"{prev_head}: an event was removed, inserted or replaced here"
            )
        edited = _column_problem(record, event[2:], seq, prev_head)
        if edited:
            return "column_mismatch", edited
        head = self._heads[seq]
        return "checkpoint_mismatch", (
            f"event {seq} has hash {claimed_hash}, but a signed checkpoint says the "
            f"first {seq} events end in {head}: the history up to seq {seq} was rewritten"
        )

    def _truncation(self) -> tuple[int, str, str] | None:
        if self._max_size <= self._size:
            return None
        reason = (
            f"a signed checkpoint covers {self._max_size} events but the trail holds {self._size}: "
            f"the tail after seq {self._size} was cut off"
        )
        return self._size + 1, "truncated", reason


def _labels(record: dict[str, Any]) -> tuple[Any, ...]:
    return record["ts"], record["actor"], record["action"], record["object"]


def _column_problem(record: dict[str, Any], columns: tuple[Any, ...], seq: int, prev_head: str) -> str | None:
    if not columns:
        return None
    hashed = (seq, prev_head, *_labels(record))
    edited = [
        f"{name} is {stored!r} where the hashed record says {said!r}"
        for name, stored, said in zip(STORED_COLUMNS, columns, hashed, strict=True)
        if stored != said
    ]
    if not edited:
        return None
    return (
        f"event {seq}'s stored columns disagree with its hashed record: {'; '.join(edited)}. "
        "The column was edited in the database, so filters on it hide or misplace the event"
    )


def _shape_problem(record: Any, seq: int) -> str:
    if type(record) is not dict:
        return f"event {seq} is a JSON {type(record).__name__}, not an object"
    if record.keys() != BODY_KEYS:
        return f"event {seq} must have exactly the keys {sorted(BODY_KEYS)}, not {sorted(record)}"
    return f"event {seq} has record version {record['v']!r}; this verifier knows version 1"


def _seq_problem(expected: int, found: Any) -> tuple[str, str]:
    if type(found) is not int:
        return "malformed", f"event {expected} has a non-integer seq {found!r}"
    if found < expected:
        return "gap", f"expected seq {expected} but found seq {found}: a duplicate or out-of-order event"
    missing = f"event {expected} is" if found == expected + 1 else f"events {expected} to {found - 1} are"
    return "gap", f"expected seq {expected} but found seq {found}: {missing} missing"


def line_pairs(lines: Iterable[bytes]) -> Iterator[tuple[bytes | None, str]]:
    """(body, claimed hash) per non-blank export line; (None, reason) for a line that cannot be split."""
    for raw in lines:
        line = raw.strip()
        if line:
            try:
                yield split_line(line)
            except ValueError as exc:
                yield None, str(exc)


def verify_lines(lines: Iterable[bytes], **kw: Any) -> VerifyResult:
    verifier = ChainVerifier(**kw)
    verifier.feed_many(line_pairs(lines))
    return verifier.result()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m audits.ledger.verify",
        description="Verify an exported audit trail, optionally against signed checkpoints.",
    )
    parser.add_argument("trail", help="JSON Lines export, one record per line in seq order ('-' reads stdin)")
    parser.add_argument("--checkpoints", help="JSON array of signed checkpoints, or a listing with a 'results' list")
    parser.add_argument(
        "--public-key",
        action="append",
        help="the service's Ed25519 public key (PEM); needed with --checkpoints. Repeat it for keys the service "
        "used before a rotation: a checkpoint is valid under any of them",
    )
    parser.add_argument("--json", action="store_true", help="print the result as a JSON object")
    return parser


def _read_checkpoints(path: str) -> list[SignedCheckpoint]:
    with open(path, "rb") as fh:
        listing = _named(path, json.load, fh)
    if isinstance(listing, dict) and isinstance(listing.get("results"), list):
        if listing.get("next"):
            print(f"warning: {path} is one page of a longer listing; only its checkpoints are used", file=sys.stderr)
        listing = listing["results"]
    if not isinstance(listing, list):
        raise ValueError(f"{path}: expected a JSON array of checkpoints or an object with a 'results' list")
    return [_named(f"{path}, checkpoint {i + 1}", checkpoint_from_json, item) for i, item in enumerate(listing)]


def _named(where: str, load: Callable[[Any], Any], source: Any) -> Any:
    # Input errors name the file they come from: the auditor may pass several.
    try:
        return load(source)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.public_key:
        options["public_key"] = [_read_public_key(path) for path in args.public_key]
    if args.checkpoints:
        options["checkpoints"] = _read_checkpoints(args.checkpoints)
    return options


def _read_public_key(path: str) -> Ed25519PublicKey:
    with open(path, "rb") as fh:
        return _named(path, load_public_key, fh.read())


def _verify_trail(path: str, options: dict[str, Any]) -> VerifyResult:
    if path == "-":
        return verify_lines(sys.stdin.buffer, **options)
    with open(path, "rb") as stream:
        return verify_lines(stream, **options)


def _summary(result: VerifyResult, with_checkpoints: bool) -> str:
    if not result.ok:
        return f"FAILED at seq {result.bad_seq}: {result.reason}"
    extra = f", {result.checkpoints_checked} checkpoints verified" if with_checkpoints else ""
    return f"OK: {result.size} events, head {result.head}{extra}"


def input_error(exc: OSError | ValueError) -> int:
    """Says on stderr why the input could not be read or used; exit status 2, shared by the offline verifiers."""
    if isinstance(exc, OSError):
        print(f"error: cannot read {exc.filename or 'input'}: {exc.strerror or exc}", file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.checkpoints and not args.public_key:
        parser.error("--checkpoints needs --public-key to check their signatures")
    try:
        result = _verify_trail(args.trail, _options(args))
    except (OSError, ValueError) as exc:
        return input_error(exc)
    print(json.dumps(result.to_json()) if args.json else _summary(result, bool(args.checkpoints)))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
