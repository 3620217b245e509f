"""Repeated failures lock an address out (django-axes): the admin's sign-in form and bearer tokens alike,
answered 429 with Retry-After, in the error shape under /api/ and as a page in the admin."""

import pytest

from core.client_ip import client_ip

ATTACKER, OTHER = "203.0.113.7", "198.51.100.20"
PASSWORD = "a-long-enough-password-for-tests"


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 0
    return 3


def _sign_in(client, username: str, password: str, address: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_repeated_failed_admin_sign_ins_lock_the_address_out(client, officer, limit):
    officer.set_password(PASSWORD)
    officer.save()
    answers = [_sign_in(client, "officer", "wrong-password", ATTACKER).status_code for _ in range(limit)]
    assert answers == [200] * (limit - 1) + [429]
    locked = _sign_in(client, "officer", PASSWORD, ATTACKER)  # the right password no longer helps
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    assert "Too many failed attempts (429)" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address signs in as usual.
    assert _sign_in(client, "officer", PASSWORD, OTHER).status_code == 302
    assert client.session["_auth_user_id"] == str(officer.pk)


def test_failures_below_the_limit_do_not_lock(client, officer, limit):
    officer.set_password(PASSWORD)
    officer.save()
    for _ in range(limit - 1):
        assert _sign_in(client, "officer", "wrong-password", ATTACKER).status_code == 200
    assert _sign_in(client, "officer", PASSWORD, ATTACKER).status_code == 302


def _me(anon_client, token: str, address: str):
    return anon_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR=address)


def test_repeated_failed_tokens_from_one_address_answer_429(anon_client, ci_account, limit):
    guesses = [_me(anon_client, f"vt_guess{n}_{'x' * 30}", ATTACKER) for n in range(limit)]
    assert [r.status_code for r in guesses[:-1]] == [401] * (limit - 1)
    assert guesses[-1].status_code == 429
    assert guesses[-1].json()["error"]["code"] == "locked_out"
    refused = _me(anon_client, f"vt_guess_again_{'x' * 30}", ATTACKER)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "locked_out" and error["fields"] == {}
    assert error["message"].startswith("Too many failed sign-ins or tokens from this address; try again later.")
    assert int(refused["Retry-After"]) == 15 * 60
    # A good token still works: for others, and (256 random bits are not guessed) from that address too.
    assert _me(anon_client, ci_account.token, OTHER).status_code == 200
    assert _me(anon_client, ci_account.token, ATTACKER).status_code == 200


def test_failed_personal_tokens_count_too(anon_client, db, limit):
    for _ in range(limit):
        _me(anon_client, "vtp_" + "y" * 40, ATTACKER)
    assert _me(anon_client, "vtp_" + "y" * 40, ATTACKER).status_code == 429


def test_good_tokens_are_not_counted_as_failures(anon_client, ci_account, limit):
    for _ in range(limit * 2):
        assert _me(anon_client, ci_account.token, ATTACKER).status_code == 200


def test_behind_a_proxy_the_forwarded_client_is_locked_not_the_proxy(anon_client, db, settings, limit):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for n in range(limit):
        anon_client.get(
            "/api/v1/me/",
            HTTP_AUTHORIZATION=f"Bearer vt_guess{n}_{'x' * 30}",
            HTTP_X_FORWARDED_FOR=f"192.0.2.99, {ATTACKER}",  # the left entry is the caller's own claim
            REMOTE_ADDR=proxy,
        )
    headers = {"HTTP_AUTHORIZATION": f"Bearer vt_guess_again_{'x' * 30}", "REMOTE_ADDR": proxy}
    assert anon_client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR=ATTACKER, **headers).status_code == 429
    assert anon_client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR=OTHER, **headers).status_code == 401
    assert anon_client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR="192.0.2.99", **headers).status_code == 401


class _Request:
    def __init__(self, **meta):
        self.META = meta


@pytest.mark.parametrize(
    ("hops", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "10.0.0.2"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4"}, "1.2.3.4"),
        (2, {"REMOTE_ADDR": "10.0.0.3", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4, 10.0.0.2"}, "1.2.3.4"),
        (1, {"REMOTE_ADDR": "10.0.0.2"}, "10.0.0.2"),
    ],
)
def test_the_client_address_is_read_the_trusted_number_of_hops_from_the_right(settings, hops, meta, expected):
    settings.TRUSTED_PROXY_COUNT = hops
    assert client_ip(_Request(**meta)) == expected
