"""The real app in headless Chromium: deep links, generate, listen, download, corpora."""

import pytest

from tests.browser_support import served_app

pytestmark = pytest.mark.browser
LINK = "model=drums_rnn&preset=thesis&genre=techno-house&size=700&temperature=1&bars=8&seed=21"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("home")) as server:
        yield server.url


def _no_errors(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Page not found").count() == 0


def test_a_first_load_deep_link_plays_the_linked_track(app_url, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(f"{app_url}/listen?{LINK}", timeout=60_000)
    page.locator("audio").wait_for(timeout=180_000)
    page.get_by_text("What the numbers say").wait_for(timeout=60_000)
    assert page.get_by_text("Seed 21, temperature 1").count() == 1
    assert page.locator("[data-testid='stImage']").count() >= 1
    page.get_by_text("Share this track").click()
    page.get_by_text(f"/listen?{LINK}").wait_for(timeout=10_000)  # the link to share is this one
    _no_errors(page)
    page.close()


def test_downloading_keeps_the_track_on_the_page(app_url, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(f"{app_url}/listen?{LINK}", timeout=60_000)
    page.locator("audio").wait_for(timeout=180_000)
    for label in ("Download MIDI", "Download audio"):
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name=label).click()
        assert download.value.suggested_filename.startswith("drumeval-drums_rnn-thesis")
        page.wait_for_timeout(1500)  # a rerun, had there been one, would have redrawn by now
        assert page.locator("audio").count() == 1
        assert page.get_by_text("What the numbers say").count() == 1
    assert "seed=21" in page.url
    _no_errors(page)
    page.close()


def test_generate_from_the_sidebar_writes_a_permalink(app_url, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(app_url, timeout=60_000)
    page.get_by_role("link", name="Generate & listen").first.click(timeout=60_000)
    seed = page.get_by_role("textbox", name="Seed", exact=True)
    seed.fill("-5")
    seed.press("Enter")
    page.get_by_text("the seed must be between 0 and 2,147,483,647").wait_for(timeout=60_000)
    assert page.locator("audio").count() == 0
    seed.fill("21")
    seed.press("Enter")
    page.get_by_role("button", name="Generate", exact=True).click(timeout=60_000)
    page.locator("audio").wait_for(timeout=180_000)
    assert "seed=21" in page.url and "model=drums_rnn" in page.url
    _no_errors(page)
    page.close()


def test_corpora_page_in_the_browser(app_url, browser):
    page = browser.new_page()
    page.goto(f"{app_url}/training-data", timeout=60_000)
    page.get_by_text("Share of hits per drum class").wait_for(timeout=60_000)
    _no_errors(page)
    page.close()
