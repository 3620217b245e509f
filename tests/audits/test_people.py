"""People read as people: pages, queues and the trail's admin named officers, requesters and CI by pseudonym
(`user:5`), and "Requested by" linked to an account page officers may not open. One resolver
(audits.selectors.people_named, the `{% person %}` tag, the admin's person_field) names them, through the
personal-record table, to readers entitled to names; an erased person reads "erased person"; a reader without
the entitlement keeps the pseudonym; the hashed events keep the pseudonym always."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from accounts.services import user_create
from audits.models import AuditEvent, PersonalRecord
from audits.selectors import ERASED, people_named
from audits.services import person_erase
from core import roles
from registry.models import ApprovalRequest
from tests.factories import UserFactory
from tests.registry_fixtures import request_approval

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana(db):
    """A data scientist whose account was made through the service, so her username is a personal record."""
    return user_create(username="dana.scully", password=None, role=roles.DATA_SCIENTIST)


def test_names_come_from_the_personal_record_for_readers_of_everything(dana, officer, auditor, admin_user):
    subject = f"user:{dana.pk}"
    assert PersonalRecord.objects.filter(subject=subject, kind="username").exists()
    for reader in (officer, auditor, admin_user):
        assert people_named([dana, subject, "service:ci-main", "system"], reader) == {
            subject: "dana.scully",
            "service:ci-main": "service:ci-main",
            "system": "system",
        }
    dana.first_name, dana.last_name = "Dana", "Scully"
    dana.save()
    assert people_named([subject], officer) == {subject: "Dana Scully"}


def test_a_reader_not_entitled_to_names_reads_pseudonyms(dana, requester, outsider):
    subject = f"user:{dana.pk}"
    for reader in (requester, outsider, None):
        assert people_named([subject], reader) == {subject: subject}


def test_an_erased_person_reads_erased_person_and_the_trail_keeps_the_pseudonym(dana, officer, admin_user):
    subject = f"user:{dana.pk}"
    person_erase(subject=subject, actor=f"user:{admin_user.pk}")
    assert not PersonalRecord.objects.filter(subject=subject).exists()
    assert people_named([subject], officer) == {subject: ERASED}
    bodies = b"".join(bytes(event.body) for event in AuditEvent.objects.all())
    assert subject.encode() in bodies and b"dana.scully" not in bodies and b"erased person" not in bodies


def test_the_template_tag_names_for_the_reader_and_keeps_the_pseudonym_in_the_title(dana, officer, requester):
    template = Template("{% load people %}{% person who %}")
    request = RequestFactory().get("/")
    request.user = officer
    shown = template.render(Context({"who": dana, "request": request}))
    assert shown == f'<span class="person" title="user:{dana.pk}">dana.scully</span>'
    request.user = requester
    assert template.render(Context({"who": dana, "request": request})) == f"user:{dana.pk}"


@pytest.fixture
def requested(registered, ci_client, client_as, dana):
    """A pending request made by a person of the model's team (dana joins it)."""
    from tests.factories import team

    dana.groups.add(team())
    response = request_approval(client_as(dana))
    assert response.status_code == 202, response.json()
    return ApprovalRequest.objects.get()


def _page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_queue_and_the_review_page_name_the_requester_for_an_officer(client, requested, officer, dana):
    queue = _page(client, officer, reverse("admin:registry_approvalrequest_changelist"))
    assert "dana.scully" in queue
    page = _page(client, officer, reverse("admin:registry_approvalrequest_change", args=[requested.pk]))
    assert f'title="user:{dana.pk}">dana.scully</span>' in page
    assert reverse("admin:auth_user_change", args=[dana.pk]) not in page  # no link officers cannot open
    trail = f"{reverse('admin:audits_auditevent_changelist')}?actor=user%3A{dana.pk}"
    assert trail in page
    events = _page(client, officer, trail)
    assert "approval.requested" in events and "dana.scully (user:" in events


def test_after_erasure_the_pages_say_erased_person(client, requested, officer, dana, admin_user):
    person_erase(subject=f"user:{dana.pk}", actor=f"user:{admin_user.pk}")
    page = _page(client, officer, reverse("admin:registry_approvalrequest_change", args=[requested.pk]))
    assert f'title="user:{dana.pk}">erased person</span>' in page and "dana.scully" not in page


def test_the_version_page_names_its_submitter_without_linking_the_account(client, registered, officer):
    from registry.models import ModelVersion

    version = ModelVersion.objects.get()
    page = _page(client, officer, reverse("admin:registry_modelversion_change", args=[version.pk]))
    assert reverse("admin:auth_user_change", args=[version.submitted_by_id]) not in page
    assert 'title="service:ci-main">ci-main</span>' in page or "ci-main" in page


def test_names_are_shown_to_no_one_else(client, requested, dana):
    clerk = UserFactory(username="clerk", is_staff=True, is_superuser=False)
    from django.contrib.auth.models import Permission

    clerk.user_permissions.add(Permission.objects.get(codename="view_approvalrequest"))
    page = _page(client, clerk, reverse("admin:registry_approvalrequest_change", args=[requested.pk]))
    assert "dana.scully" not in page and f"user:{dana.pk}" in page
