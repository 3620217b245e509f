import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core import roles as role_names

PASSWORD = "correct-horse-battery-staple"
# The personas' team: the models they register belong to it. other_team_scientist belongs to OTHER_TEAM.
PERSONA_TEAM = "team:credit-risk"
OTHER_TEAM = "team:marketing"
REGISTERING_ROLES = (role_names.CI, role_names.DATA_SCIENTIST)


def team(name: str = PERSONA_TEAM) -> Group:
    return Group.objects.get_or_create(name=name)[0]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*(Group.objects.get(name=name) for name in extracted))
        if create:
            self.save()

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        """The teams joined: those named, else the personas' team for anyone holding a registering role."""
        if not create:
            return
        if extracted is None:
            held = set(self.groups.values_list("name", flat=True))
            extracted = [PERSONA_TEAM] if held & set(REGISTERING_ROLES) else []
        self.groups.add(*(team(name) for name in extracted))
