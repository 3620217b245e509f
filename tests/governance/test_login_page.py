"""The sign-in page says what it is in a heading of its own."""

import re


def test_the_login_page_has_one_h1(client, db):
    html = client.get("/admin/login/").content.decode()
    assert re.findall(r"<h1>(.*?)</h1>", html) == ["Sign in to Verity"]
