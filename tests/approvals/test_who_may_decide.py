"""The dashboard's "waiting for you" and the decision itself apply one rule of who may decide a request.

approval_requests_awaiting() reads the rule as a query; approval_decide() enforces it with a reason per case.
This checks, over every combination the rule distinguishes, that the two never disagree.
"""

import pytest

from approvals.selectors import approval_requests_awaiting
from approvals.services import _check_decider
from core import roles
from core.errors import DomainError
from registry.models import ApprovalRequest, RegisteredModel
from tests.approvals.test_dashboard import _decide, _request, _version
from tests.factories import UserFactory, team

pytestmark = pytest.mark.django_db


def _may_decide(request: ApprovalRequest, user) -> bool:
    try:
        _check_decider(request, user)
    except DomainError:
        return False
    return True


def test_the_queue_and_the_decision_agree_on_who_may_decide(db):
    officer = UserFactory(username="o1", roles=[roles.COMPLIANCE_OFFICER], is_staff=True)
    other = UserFactory(username="o2", roles=[roles.COMPLIANCE_OFFICER], is_staff=True)
    scientist = UserFactory(username="ds", roles=[roles.DATA_SCIENTIST])
    model = RegisteredModel.objects.create(name="credit", risk_tier="medium", owner=scientist, team=team())
    cases = [
        _request(_version(model, "1", by=scientist), by=scientist),  # may decide
        _request(_version(model, "2", by=scientist), by=officer),  # requested it
        _request(_version(model, "3", by=officer), by=scientist),  # submitted the version
        _request(_version(model, "4", by=scientist), by=scientist),  # decided it already (below)
    ]
    _decide(cases[3], officer)
    for user in (officer, other, scientist):
        queued = set(approval_requests_awaiting(user))
        for request in cases:
            assert (request in queued) == _may_decide(request, user), (user.username, request.version.version)
    assert set(approval_requests_awaiting(officer)) == {cases[0]}
