from celery import shared_task


@shared_task(name="governance.ping")
def ping() -> str:
    """Answers from inside a worker: proves the broker-to-worker round trip."""
    return "pong"
