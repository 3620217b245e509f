"""Every answer carries the Content-Security-Policy, and no page template needs what it refuses: inline
scripts and styles carry the request's nonce, and no element has a style attribute. (tests/browser checks the
pages in Chromium.)"""

import re

import pytest

from tests.conftest import ROOT

# The model card's templates are rendered to PDF by WeasyPrint, never served to a browser.
PDF_ONLY = ROOT / "reports" / "templates" / "reports"
TEMPLATES = sorted(
    path
    for path in ROOT.glob("*/templates/**/*.html")
    if ".venv" not in path.parts and "var" not in path.parts and not path.is_relative_to(PDF_ONLY)
)
NONCE = 'nonce="{{ request.csp_nonce }}"'


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/admin/login/", "/healthz", "/api/v1/models/", "/no-such-page/"])
def test_every_answer_carries_the_policy(client, path):
    directives = _directives(client.get(path))
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives["style-src"]


@pytest.mark.django_db
def test_the_nonce_in_the_header_is_the_one_on_the_page(client):
    response = client.get("/")
    nonce = next(source for source in _directives(response)["style-src"] if source.startswith("'nonce-"))
    assert f'<style nonce="{nonce[7:-1]}">' in response.content.decode()
    assert _directives(client.get("/"))["style-src"] != _directives(response)["style-src"]  # one per request


def test_the_api_docs_run_their_inline_script_with_the_nonce(client_as, officer):
    response = client_as(officer).get("/api/docs/")
    assert response.status_code == 200
    nonce = next(source for source in _directives(response)["script-src"] if source.startswith("'nonce-"))[7:-1]
    page = response.content.decode()
    assert f'<script nonce="{nonce}">' in page and f'<style nonce="{nonce}">' in page


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_served_template_needs_what_the_policy_refuses(template):
    text = template.read_text()
    assert not re.search(r"\sstyle\s*=", text), "a style attribute: use a class and a stylesheet"
    assert not re.search(r"\son[a-z]+\s*=", text), "an inline event handler: use a script file"
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
        assert "src=" in tag or NONCE in tag, tag
