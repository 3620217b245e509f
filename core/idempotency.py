"""Idempotency-Key on POST: a retry with the same key replays the first response and creates nothing.

The key row is written in the same transaction as the operation, so two concurrent retries
queue on the unique index and the second replays what the first committed.
"""

import hashlib
import json

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from core.errors import DomainError
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# The header as the OpenAPI schema documents it on every POST.
IDEMPOTENCY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A retry with the same key returns the first response and creates nothing.",
)


def _fingerprint(request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    for name in sorted(request.data.keys()) if hasattr(request.data, "keys") else []:
        digest.update(name.encode() + b"=" + json.dumps(request.data.get(name), default=str).encode())
    for name in sorted(request.FILES):
        upload = request.FILES[name]
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise DomainError(
            "idempotency_key_reused", "This Idempotency-Key was used for a different request.", status_code=422
        )
    response = Response(record.body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotentPostMixin:
    """APIs implement handle_post; post() wraps it with the Idempotency-Key protocol."""

    def post(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return self.handle_post(request, *args, **kwargs)
        if len(key) > 200:
            raise DomainError("invalid", f"{HEADER}: at most 200 characters.", fields={HEADER: ["Too long."]})
        fingerprint = _fingerprint(request)
        try:
            with transaction.atomic():
                # Claimed first: a concurrent retry waits here until this one commits, then replays it.
                record = IdempotencyRecord.objects.create(
                    user=request.user, key=key, fingerprint=fingerprint, status_code=0, body={}
                )
                response = self.handle_post(request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    transaction.set_rollback(True)  # a failure is not remembered: a retry runs again
                    return response
                record.status_code, record.body = response.status_code, response.data
                record.save(update_fields=["status_code", "body"])
                return response
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
            if existing is None:
                raise
            return _replay(existing, fingerprint)
