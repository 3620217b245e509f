"""Django-free core of the append-only, hash-chained audit trail.

``hashing`` defines the record format and its canonical bytes, ``signing``
the Ed25519 signed checkpoints, ``export`` the export lines of stored rows,
and ``verify`` the standalone verifier
(``python -m audits.ledger.verify``). The package must stay importable with
only the standard library, ``rfc8785`` and ``cryptography`` installed, so
that an auditor can run the verifier without the service; that is why this
file imports nothing. The public contract is ``docs/audit-trail.md``.
"""
