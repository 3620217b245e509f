"""Attestations: a compliance officer's answer to a checklist item only a person can decide.

Each answer belongs to one model version, supersedes the item's previous answer (kept as history),
may carry attachments (stored once under their SHA-256 in the evidence store) and may expire. Every
answer and withdrawal writes its audit event in the same transaction.

The statement is the officer's free text, so personal data: it is kept beside the chain as a personal
record of the officer, erased with them, and rows and events refer to it only by its salted digest.
"""

from pathlib import PurePath

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import decider_check
from audits.services import actor_for, audit_event_append, object_ref, personal_record_store
from core import evidence_store, roles
from core.errors import DomainError
from reports.checklists import applicable_frameworks
from reports.frameworks import FRAMEWORK_IDS, framework_item, framework_load
from reports.models import Attestation

STATEMENT_MAX = 10_000
ATTACHMENT_MAX_BYTES = 20 * 2**20
ATTACHMENTS_MAX = 10
NAME_MAX = 200


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("invalid", f"{field}: {message}", fields={field: [message]})


def _check_officer(user) -> None:
    if not roles.has_role(user, roles.COMPLIANCE_OFFICER):
        raise DomainError("permission_denied", "Only compliance officers answer attestations.", status_code=403)


def _check_item(version, framework: str, item_id: str) -> dict:
    if framework not in FRAMEWORK_IDS:
        raise _invalid("framework", f"unknown framework; one of {', '.join(FRAMEWORK_IDS)}.")
    if framework not in applicable_frameworks(version.model):
        raise _invalid("framework", f"{framework} does not apply to {version.model.name} (declared or implied).")
    item = framework_item(framework, item_id)
    if item is None:
        raise _invalid("item_id", f"{framework} has no item {item_id!r}.")
    if item["decided_by"] != "human":
        raise _invalid("item_id", f"{item_id} is decided automatically from the evidence; it cannot be attested.")
    return item


def _check_separation(version, user) -> None:
    if user.pk == version.submitted_by_id:
        raise DomainError(
            "separation_of_duties", "You submitted this version; someone else must attest it.", status_code=403
        )


def _check_answer(answer: str, statement: str, expires_at, now) -> None:
    if answer not in Attestation.Answer.values:
        raise _invalid("answer", f"one of {', '.join(Attestation.Answer.values)}.")
    if not (statement or "").strip():
        raise _invalid("statement", "a written statement is required.")
    if len(statement) > STATEMENT_MAX:
        raise _invalid("statement", f"at most {STATEMENT_MAX} characters.")
    if expires_at is not None and expires_at <= now:
        raise _invalid("expires_at", "must be in the future.")


def _check_attachments(attachments) -> None:
    if len(attachments) > ATTACHMENTS_MAX:
        raise _invalid("attachments", f"at most {ATTACHMENTS_MAX} files.")
    for upload in attachments:
        if upload.size > ATTACHMENT_MAX_BYTES:
            raise DomainError(
                "too_large",
                f"attachments: {upload.name} is larger than {ATTACHMENT_MAX_BYTES} bytes.",
                fields={"attachments": [f"At most {ATTACHMENT_MAX_BYTES} bytes per file."]},
                status_code=413,
            )
        if upload.size == 0:
            raise _invalid("attachments", f"{upload.name} is empty.")


def attestation_validate(
    *,
    version,
    framework: str,
    item_id: str,
    answer: str,
    statement: str,
    user,
    attachments=(),
    expires_at=None,
    now=None,
) -> dict:
    """Every rule an answer must meet, without writing anything; returns the checklist item answered."""
    decider_check(user)
    _check_officer(user)
    item = _check_item(version, framework, item_id)
    _check_separation(version, user)
    _check_answer(answer, statement, expires_at, now or timezone.now())
    _check_attachments(list(attachments))
    return item


def _store(upload) -> dict:
    data = b"".join(upload.chunks())
    name = PurePath(upload.name or "attachment").name[:NAME_MAX]
    content_type = getattr(upload, "content_type", None) or "application/octet-stream"
    return {"name": name, "sha256": evidence_store.put(data), "size": len(data), "content_type": content_type}


def _supersede(version, framework: str, item_id: str, now) -> Attestation | None:
    current = (
        Attestation.objects.select_for_update()
        .filter(version=version, framework=framework, item_id=item_id, superseded_at__isnull=True)
        .first()
    )
    if current:
        current.superseded_at = now
        current.save(update_fields=["superseded_at"])
    return current


def _event_data(attestation: Attestation, previous: Attestation | None) -> dict:
    return {
        "model": attestation.version.model.name,
        "version": attestation.version.version,
        "framework": attestation.framework,
        "item_id": attestation.item_id,
        "checklist_version": attestation.checklist_version,
        "answer": attestation.answer,
        "statement_digest": attestation.statement_digest,  # salted; events before it had a plain statement_sha256
        "attachments": [a["sha256"] for a in attestation.attachments],
        "expires_at": attestation.expires_at.isoformat() if attestation.expires_at else None,
        "supersedes": previous.pk if previous else None,
    }


@transaction.atomic
def attestation_answer(
    *, version, framework: str, item_id: str, answer: str, statement: str, user, attachments=(), expires_at=None
) -> Attestation:
    now = timezone.now()
    attachments = list(attachments)
    attestation_validate(
        version=version,
        framework=framework,
        item_id=item_id,
        answer=answer,
        statement=statement,
        user=user,
        attachments=attachments,
        expires_at=expires_at,
        now=now,
    )
    stored = [_store(upload) for upload in attachments]  # content-addressed: a rollback leaves harmless blobs
    previous = _supersede(version, framework, item_id, now)
    actor = actor_for(user)
    digest = personal_record_store(subject=actor, kind="attestation_statement", text=statement)
    try:
        with transaction.atomic():
            attestation = Attestation.objects.create(
                version=version,
                framework=framework,
                item_id=item_id,
                checklist_version=framework_load(framework)["version"],
                answer=answer,
                statement_digest=digest,
                attachments=stored,
                answered_by=user,
                answered_at=now,
                expires_at=expires_at,
            )
    except IntegrityError as exc:  # a concurrent answer to the same item won
        raise DomainError("conflict", f"{item_id} was just answered; reload and try again.", status_code=409) from exc
    audit_event_append(
        actor=actor,
        action="attestation.answered",
        object_ref=object_ref(attestation),
        data=_event_data(attestation, previous),
    )
    return attestation


@transaction.atomic
def attestation_withdraw(*, attestation: Attestation, user) -> Attestation:
    """Takes a current answer back without replacing it: the item is open again."""
    _check_officer(user)
    attestation = Attestation.objects.select_for_update().select_related("version__model").get(pk=attestation.pk)
    if attestation.superseded_at is not None:
        raise DomainError("conflict", f"Attestation {attestation.pk} is no longer current.", status_code=409)
    attestation.superseded_at = timezone.now()
    attestation.save(update_fields=["superseded_at"])
    audit_event_append(
        actor=actor_for(user),
        action="attestation.withdrawn",
        object_ref=object_ref(attestation),
        data=_event_data(attestation, None),
    )
    return attestation
