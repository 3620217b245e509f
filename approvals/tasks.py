from celery import shared_task

from approvals.services import approvals_expire


# The name predates the approvals app; queued messages and the beat schedule use it.
@shared_task(name="registry.approvals_expire")
def expire_approvals() -> int:
    """Periodic (beat): records expired approvals in the trail. The gate checks expiry dates itself."""
    return approvals_expire()
