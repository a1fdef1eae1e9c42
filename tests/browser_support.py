"""The app served to the one Chromium of the run (the `browser` fixture in tests/conftest.py).

Browser tests start their app with `served_app` and open a page with `fresh_page` (or their
own `browser.new_context()`), so that no test shares cookies, storage or a Streamlit session
with another; the `browser` fixture closes whatever context a test leaves open.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.app_server import AppServer


@contextmanager
def served_app(
    home: Path | str, *, database_url: str = "", port: int | None = None, **env: str
) -> Iterator[AppServer]:
    """`drumeval.serve` on a free port with its own data home, stopped however the test ends.

    An empty `database_url` is the home's SQLite file; `env` adds variables (an admin password).
    """
    server = AppServer(
        env={"DRUMEVAL_HOME": str(home), "DATABASE_URL": database_url, **env}, port=port
    ).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def fresh_page(browser, **context_options) -> Iterator:
    """A page in a new browser context (nothing carried over from another test), closed after."""
    context = browser.new_context(**context_options)
    try:
        yield context.new_page()
    finally:
        context.close()
