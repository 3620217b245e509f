"""Upload limits hold before the body is on disk: a Content-Length past the operation's limit is refused
before a byte is read, a body sent chunked is refused unread, and a file part past its limit is stopped as
it arrives. A zip artifact may unpack to MAX_ARTIFACT_BYTES times ARTIFACT_UNPACKED_RATIO, no more."""

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from registry.models import ModelVersion
from tests.registry_fixtures import register_model, register_version

pytestmark = pytest.mark.django_db


class CountingStream(io.RawIOBase):
    """A request body that counts what the server reads of it."""

    def __init__(self, head: bytes, size: int):
        self.head, self.size, self.read_bytes = head, size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        remaining = self.size - self.read_bytes
        count = min(len(buffer), remaining)
        if count <= 0:
            return 0
        start = self.read_bytes
        chunk = (self.head[start : start + count]).ljust(count, b"\0")
        buffer[:count] = chunk
        self.read_bytes += count
        return count


def _multipart(artifact: bytes) -> bytes:
    upload = SimpleUploadedFile("model.skops", artifact)
    return encode_multipart(BOUNDARY, {"artifact": upload, "metadata": json.dumps({"version": "9.9.9"})})


def test_a_content_length_past_the_limit_is_refused_before_the_body_is_read(ci_client, settings):
    settings.MAX_ARTIFACT_BYTES = 2**20
    assert register_model(ci_client).status_code == 201
    size = 150 * 2**20
    stream = CountingStream(_multipart(b"PK"), size)
    url = reverse("v1:model-versions", args=["credit-scoring"])
    response = ci_client.post(
        url, content_type=MULTIPART_CONTENT, **{"CONTENT_LENGTH": str(size), "wsgi.input": stream}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert stream.read_bytes == 0


def test_a_json_body_past_the_limit_is_refused_before_it_is_read(ci_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2**16
    stream = CountingStream(b'{"name": "m", "description": "', 2**20)
    response = ci_client.post(
        reverse("v1:models"), content_type="application/json", **{"CONTENT_LENGTH": str(2**20), "wsgi.input": stream}
    )
    assert response.status_code == 413
    assert stream.read_bytes == 0


def test_a_chunked_body_is_refused_unread(ci_client):
    assert register_model(ci_client).status_code == 201
    stream = CountingStream(_multipart(b"PK"), 10 * 2**20)
    url = reverse("v1:model-versions", args=["credit-scoring"])
    response = ci_client.post(
        url,
        content_type=MULTIPART_CONTENT,
        **{"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": stream},
    )
    assert response.status_code == 411
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert stream.read_bytes == 0


def test_a_file_part_past_its_limit_is_stopped_as_it_arrives(ci_client, settings):
    """The body's length is within what the operation takes with its other fields, but the file alone is
    past the artifact limit: reading stops a chunk past the limit, not at the end of the body."""
    settings.MAX_ARTIFACT_BYTES = 2**20
    assert register_model(ci_client).status_code == 201
    body = _multipart(b"PK" + b"\1" * (8 * 2**20))
    stream = CountingStream(body, len(body))
    url = reverse("v1:model-versions", args=["credit-scoring"])
    response = ci_client.post(
        url, content_type=MULTIPART_CONTENT, **{"CONTENT_LENGTH": str(len(body)), "wsgi.input": stream}
    )
    assert response.status_code == 413, response.content
    assert response.json()["error"]["code"] == "too_large"
    assert "model.skops" in response.json()["error"]["message"]
    assert stream.read_bytes < 2**20 + 2**18
    assert not ModelVersion.objects.exists()


def test_a_file_within_its_limit_is_read_whole(ci_client, settings, model_bytes):
    settings.MAX_ARTIFACT_BYTES = len(model_bytes)
    assert register_model(ci_client).status_code == 201
    response = register_version(ci_client, model_bytes)
    assert response.status_code == 201, response.json()


def test_a_file_sent_to_an_operation_that_takes_none_is_refused(ci_client):
    upload = SimpleUploadedFile("notes.txt", b"hello")
    body = {"name": "m", "risk_tier": "low", "f": upload}
    response = ci_client.post(reverse("v1:models"), body)
    assert response.status_code == 413
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def _deflated(skops_bytes: bytes) -> bytes:
    """The same skops file, its members compressed: it unpacks to more than its own size."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(skops_bytes)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as sink:
        for member in source.infolist():
            sink.writestr(member.filename, source.read(member))
    return out.getvalue()


@pytest.mark.parametrize(("ratio", "accepted"), [(1, False), (8, True)])
def test_the_archive_expansion_cap_follows_the_artifact_limit(ci_client, settings, model_bytes, ratio, accepted):
    """With the limit at the compressed file's size, a ratio of 1 refuses it and the default ratio takes it."""
    artifact = _deflated(model_bytes)
    settings.MAX_ARTIFACT_BYTES = len(artifact)
    settings.ARTIFACT_UNPACKED_RATIO = ratio
    assert register_model(ci_client).status_code == 201
    response = register_version(ci_client, artifact)
    if accepted:
        assert response.status_code == 201, response.json()
    else:
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "unsafe_archive"
        assert f"at most {len(artifact)})" in error["message"]
