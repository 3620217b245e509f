from celery import shared_task

from audits.services import checkpoint_create


@shared_task(name="audits.checkpoint_create")
def create_checkpoint() -> int | None:
    """Periodic (beat): sign the trail's head. Running it twice signs one checkpoint."""
    checkpoint = checkpoint_create()
    return checkpoint.size if checkpoint else None
