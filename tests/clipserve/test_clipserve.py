"""`/clips/<sha256>.<ext>`: study audio served by the real app server from the clip store."""

import os
import urllib.error
import urllib.request

import pytest

from drumeval import clipserve, clipstore
from drumeval.errors import ClipStoreError
from tests.browser_support import served_app

pytestmark = pytest.mark.usefixtures("data_home")  # clips and SQLite in a temp home, not var/

AUDIO = bytes(range(256)) * 40  # 10,240 bytes, every byte value, so ranges are checkable


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    store = home / "clips"
    digest = clipstore.put(AUDIO, "opus", root=store)
    corrupt = clipstore.put(b"OggS original bytes", "ogg", root=store)
    clipstore.path_of(corrupt, "ogg", root=store).write_bytes(b"OggS tampered bytes")
    unreadable = clipstore.put(b"OggS locked away", "ogg", root=store)
    clipstore.path_of(unreadable, "ogg", root=store).unlink()
    clipstore.path_of(unreadable, "ogg", root=store).mkdir()  # reading it fails: IsADirectory
    with served_app(home) as server:
        yield server.url, digest, corrupt, unreadable, store


def _get(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_stored_clip_is_served_whole_and_cacheable(served, monkeypatch):
    base, digest, *_ = served
    status, headers, body = _get(f"{base}{clipserve.clip_url(digest, 'opus')}")
    assert (status, body) == (200, AUDIO)
    assert headers["content-type"] == "audio/ogg"
    assert "immutable" in headers["cache-control"]
    assert headers["x-content-type-options"] == "nosniff"


def test_a_clip_response_carries_no_per_clip_metadata(served):
    """Content-addressed, immutable files: nothing but the content hash may tell clips apart
    (a Last-Modified build time grouped clips by the condition that made them)."""
    base, digest, *_, store = served
    path = clipstore.path_of(digest, "opus", root=store)
    for when in (1_000_000_000, 1_700_000_000):  # the file's build time must not show
        os.utime(path, (when, when))
        for extra in ({}, {"Range": "bytes=0-99"}):
            _, headers, _ = _get(f"{base}/clips/{digest}.opus", headers=extra)
            names = {name.lower() for name in headers}
            assert "last-modified" not in names
            assert "content-disposition" not in names
            assert headers["etag"] == f'"{digest}"'
    status, _, body = _get(f"{base}/clips/{digest}.opus", headers={"If-None-Match": f'"{digest}"'})
    assert (status, body) == (304, b"")
    status, _, body = _get(
        f"{base}/clips/{digest}.opus", headers={"Range": "bytes=0-9", "If-Range": f'"{digest}"'}
    )
    assert (status, body) == (206, AUDIO[:10])


def test_a_range_request_gets_exactly_those_bytes(served):
    base, digest, *_ = served
    status, headers, body = _get(
        f"{base}/clips/{digest}.opus", headers={"Range": "bytes=1000-1999"}
    )
    assert status == 206
    assert body == AUDIO[1000:2000]
    assert headers["content-range"] == f"bytes 1000-1999/{len(AUDIO)}"


@pytest.mark.parametrize(
    "path",
    [
        "/clips/" + "0" * 64 + ".opus",  # well-formed, not stored
        "/clips/not-a-hash.opus",
        "/clips/{digest}.exe",
        "/clips/{digest}.OPUS",
        "/clips/..%2f..%2fetc%2fpasswd",
        "/clips/{digest}.opus%00.txt",
    ],
)
def test_anything_but_a_stored_clip_name_is_404(served, path):
    base, digest, *_ = served
    status, _, body = _get(base + path.format(digest=digest))
    assert status in (400, 404)  # Streamlit's path-security middleware answers 400 first
    assert AUDIO not in body


def test_a_tampered_file_is_refused(served):
    base, _, corrupt, *_ = served
    status, _, body = _get(f"{base}/clips/{corrupt}.ogg")
    assert status == 500
    assert b"tampered" not in body


def test_an_unreadable_file_is_a_server_error_not_a_crash(served):
    base, _, _, unreadable, _ = served
    status, _, body = _get(f"{base}/clips/{unreadable}.ogg")
    assert (status, body) == (500, b"clip store unreadable")


def test_the_app_pages_still_load_beside_the_route(served):
    base, *_ = served
    status, _, body = _get(f"{base}/study")
    assert status == 200
    assert b"<html" in body.lower()


def test_clip_urls_are_validated_and_a_missing_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path))
    with pytest.raises(ClipStoreError):
        clipserve.clip_url("../../etc/passwd", "opus")
    with pytest.raises(ClipStoreError):
        clipserve.clip_url("a" * 64, "exe")
    missing = "b" * 64
    with pytest.raises(ClipStoreError, match=f"{missing}.opus is missing"):
        clipserve.check_servable(missing, "opus")
    digest = clipstore.put(AUDIO, "opus")
    assert clipserve.check_servable(digest, "opus") == f"/clips/{digest}.opus"


def test_install_wraps_streamlits_routes_once():
    from streamlit.web.server.starlette import starlette_app

    original = starlette_app.create_streamlit_routes
    try:
        clipserve.install()
        patched = starlette_app.create_streamlit_routes
        clipserve.install()
        assert patched is not original
        assert starlette_app.create_streamlit_routes is patched
    finally:
        starlette_app.create_streamlit_routes = original
