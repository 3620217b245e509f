import threading

import pytest
from django.db import connection, connections

from approvals.services import approval_decide
from registry.models import ApprovalRequest
from tests.registry_fixtures import request_approval

pytestmark = pytest.mark.postgres


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_officers_deciding_at_once_count_exactly(registered, ci_client, officer, officer2, no_evidence_policy):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    request = ApprovalRequest.objects.get(pk=request_approval(ci_client).json()["id"])
    barrier, errors = threading.Barrier(2), []

    def decide(user):
        try:
            barrier.wait()
            approval_decide(request=request, user=user, verdict="approve")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(user,)) for user in (officer, officer2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.decisions.count() == 2
