"""The real app in headless Chromium: navigate, generate, listen (audio element), grid."""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from drumeval.generate import list_shipped_checkpoints
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("streamlit did not start within 60 s")
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.skipif(not list_shipped_checkpoints("drums_rnn"), reason="no shipped DrumsRNN")
def test_generate_and_listen_from_the_sidebar(app_url, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(app_url, timeout=60_000)
    page.get_by_role("link", name="Generate & listen").first.click(timeout=60_000)
    page.get_by_role("button", name="Generate").click(timeout=60_000)
    page.locator("audio").wait_for(timeout=120_000)
    assert page.locator("audio").count() == 1
    page.get_by_text("Objective metrics").wait_for(timeout=60_000)
    assert page.locator("img").count() >= 2
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_corpora_page_in_the_browser(app_url, browser):
    page = browser.new_page()
    page.goto(f"{app_url}/training-data", timeout=60_000)
    page.get_by_text("Share of hits per drum class").wait_for(timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
