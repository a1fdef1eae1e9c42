"""Study audio over HTTP: `GET /clips/<sha256>.<ext>` answers from the content-addressed store.

The evaluator's player gets a URL instead of the audio inlined as a data URI, so a page rerun
(every submitted rating, every progress report of the player) sends a few hundred bytes
instead of re-sending ~1.9 MB of base64, and the browser keeps each clip in its HTTP cache.
The name is the file's content hash, so it reveals nothing about the model; the files are
immutable, so they are cached for a year; and any replica answers any clip, because every
replica reads the same store (`DRUMEVAL_HOME`). Range requests (seeking) are served by
Starlette's `FileResponse`, without its `Last-Modified` and mtime-based `ETag`: a clip's build
time would group clips by the condition that made them (a blinding leak), so the only
validator is the content hash itself.

`python -m drumeval.serve` adds the route to Streamlit's own server (`install`).
"""

import functools
import logging
import re
from pathlib import Path

from drumeval import clipstore
from drumeval.errors import ClipStoreError

_log = logging.getLogger(__name__)
PREFIX = "/clips"
MIME_TYPES = {
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "webm": "audio/webm",
}
_NAME = re.compile(r"^([0-9a-f]{64})\.(ogg|opus|mp3|wav|webm)$")
_CACHE_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
# Files whose bytes matched their name in this process: (path, size, mtime_ns).
_verified: set[tuple[str, int, int]] = set()


def clip_url(sha256: str, audio_format: str) -> str:
    """The URL of a stored clip (relative to the app's origin)."""
    if not _NAME.match(f"{sha256}.{audio_format}"):
        raise ClipStoreError(f"not a servable clip: {sha256!r}.{audio_format!r}")
    return f"{PREFIX}/{sha256}.{audio_format}"


def check_servable(sha256: str, audio_format: str) -> str:
    """The clip's URL, after checking that the store has the file (a clear error if not)."""
    url = clip_url(sha256, audio_format)
    if not clipstore.exists(sha256, audio_format):
        raise ClipStoreError(
            f"clip file {sha256}.{audio_format} is missing from the clip store "
            f"({clipstore.path_of(sha256, audio_format).parent})"
        )
    return url


def _verify(path: Path, sha256: str) -> bool:
    """Whether the file's bytes hash to its name (checked once per file version and process)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        if clipstore.sha256_hex(path.read_bytes()) != sha256:
            return False
        _verified.add(key)
    return True


@functools.cache
def _content_addressed_file_response():
    """`FileResponse` whose only per-file headers are its length and its content hash
    (built on first use: Starlette is imported only by the server)."""
    from starlette.responses import FileResponse

    class ContentAddressedFileResponse(FileResponse):
        def __init__(self, path: Path, sha256: str, media_type: str) -> None:
            super().__init__(path, media_type=media_type, headers=_CACHE_HEADERS)
            self.etag = f'"{sha256}"'

        def set_stat_headers(self, stat_result) -> None:
            self.headers.setdefault("content-length", str(stat_result.st_size))
            self.headers.setdefault("etag", self.etag)

        def _should_use_range(self, http_if_range: str) -> bool:
            return http_if_range == self.etag

    return ContentAddressedFileResponse


async def clip_endpoint(request):
    """Serve one stored clip; 404 for anything that is not the name of a stored, intact clip."""
    from anyio import to_thread
    from starlette.responses import PlainTextResponse, Response

    match = _NAME.match(request.path_params["name"])
    if not match:
        return PlainTextResponse("not found", status_code=404)
    sha256, ext = match.groups()
    path = clipstore.path_of(sha256, ext)
    try:
        intact = await to_thread.run_sync(_verify, path, sha256)
    except FileNotFoundError:
        return PlainTextResponse("not found", status_code=404)
    except OSError as error:  # unreadable store (permissions, I/O error): say which file
        _log.error("cannot read clip file %s: %s", path, error.strerror or error)
        return PlainTextResponse("clip store unreadable", status_code=500)
    if not intact:
        _log.error("clip file %s is corrupt (hash mismatch)", path)
        return PlainTextResponse("clip file corrupt", status_code=500)
    if request.headers.get("if-none-match") == f'"{sha256}"':
        return Response(status_code=304, headers={**_CACHE_HEADERS, "ETag": f'"{sha256}"'})
    return _content_addressed_file_response()(path, sha256, MIME_TYPES[ext])


def routes() -> list:
    from starlette.routing import Route

    return [Route(PREFIX + "/{name}", clip_endpoint, methods=["GET", "HEAD"])]


def install() -> None:
    """Put the clip route in front of Streamlit's routes (before its catch-all static route).

    Streamlit (≥ 1.5x) serves through Starlette and builds its route list in
    `create_streamlit_routes`; the public `st.App(routes=…)` does the same for apps started by
    an external ASGI server, but `streamlit run` builds its app itself, so the list is
    extended here, once, before the server starts.
    """
    from streamlit.web.server.starlette import starlette_app

    original = starlette_app.create_streamlit_routes
    if getattr(original, "drumeval_clips", False):
        return

    def with_clip_routes(runtime):
        return [*routes(), *original(runtime)]

    with_clip_routes.drumeval_clips = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_routes = with_clip_routes
