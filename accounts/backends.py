"""The sign-in backend that refuses an address locked out after repeated failures (django-axes)."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' check, for sign-ins that come with a request (the admin's form, the API docs' sign-in).

    A sign-in without a request (a management command, a test's `client.login`) has no client address to
    count or lock, so it is left to the next backend instead of being refused."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
