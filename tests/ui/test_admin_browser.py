"""The researcher pages in real Chromium: `/admin` as a first page, login, a study, uploads."""

import base64

import numpy as np
import pytest

from db.engine import open_database, transaction
from db.models import Clip
from deploy.browser_evaluator import WAIT_MS
from drumeval.clips import event_ids_to_midi_bytes
from drumeval.study import admin_auth, setup
from tests.browser_support import fresh_page, served_app
from tests.factories import CONFIG, add_pool

pytestmark = pytest.mark.browser
PASSWORD = "researcher-only"


@pytest.fixture
def admin_server(tmp_path, monkeypatch):
    """A SQLite database with a small pool and an open study, and the app serving it."""
    home = str(tmp_path / "home")
    monkeypatch.setenv("DRUMEVAL_HOME", home)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = open_database()
    add_pool(engine)
    setup.create_study(engine, CONFIG)
    setup.open_study(engine, "two-models")
    with served_app(home, **{admin_auth.PASSWORD_ENV: PASSWORD}) as server:
        yield server, engine
    engine.dispose()


def test_a_researcher_logs_in_watches_a_study_and_uploads_midi(admin_server, browser, tmp_path):
    server, engine = admin_server
    good = tmp_path / "their-model-1.mid"
    good.write_bytes(event_ids_to_midi_bytes(np.array([1, 0, 4, 0] * 16), kit="tr808"))
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd this is not really MIDI")
    huge = tmp_path / "huge.mid"
    huge.write_bytes(b"MThd" + bytes(6 * 2**20))  # over the 5 MB limit the widget states
    with fresh_page(browser, viewport={"width": 1200, "height": 1600}) as page:
        page.goto(f"{server.url}/admin", timeout=WAIT_MS)  # the first page this browser opens
        password = page.get_by_label("Admin password")
        password.wait_for(timeout=WAIT_MS)
        assert page.get_by_text("Page not found").count() == 0
        password.fill("not it")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong password.").wait_for(timeout=WAIT_MS)

        page.wait_for_timeout(1200)  # the throttle's first delay
        password.fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Invite link").wait_for(timeout=WAIT_MS)
        page.get_by_text(f"{server.url}/study?s=two-models").first.wait_for(timeout=WAIT_MS)
        qr = page.locator("[data-testid='stImage'] img").first.get_attribute("src")
        svg = base64.b64decode(qr.removeprefix("data:image/svg+xml;base64,")).decode()
        assert svg == setup.invite_qr_svg(f"{server.url}/study?s=two-models")  # the QR of the link
        page.get_by_text("Ratings per condition").wait_for(timeout=WAIT_MS)

        page.get_by_role("tab", name="Clip pool").click()
        page.get_by_text("5MB per file").wait_for(timeout=WAIT_MS)  # not Streamlit's 200MB
        page.locator("input[type=file]").set_input_files([str(good), str(bad), str(huge)])
        page.get_by_text("broken.mid").first.wait_for(timeout=WAIT_MS)
        page.get_by_text("File must be 5.0MB or smaller.").wait_for(timeout=WAIT_MS)
        page.get_by_label("Condition name").fill("their-model")
        page.get_by_role("button", name="Import").click()
        page.get_by_text("1 clip(s) imported as 'their-model'").wait_for(timeout=WAIT_MS)
        page.get_by_text("Skipped broken.mid:").wait_for(timeout=WAIT_MS)
        assert page.get_by_text("huge.mid:").count() == 0  # never sent to the server
    with transaction(engine) as session:
        imported = session.query(Clip).filter_by(role="imported").all()
    assert [(clip.condition, clip.genre) for clip in imported] == [("their-model", "techno-house")]


def test_a_researcher_previews_every_step_in_chromium_and_nothing_is_stored(admin_server, browser):
    from sqlalchemy import func, select

    from db.models import Assignment, Event, Participant, Rating
    from deploy.browser_evaluator import settle
    from drumeval.study.preview import preview_study

    server, engine = admin_server

    def rows() -> list[int]:
        with transaction(engine) as session:
            return [
                session.scalar(select(func.count()).select_from(model))
                for model in (Participant, Assignment, Rating, Event)
            ]

    before = rows()
    steps = preview_study(engine, "two-models").steps
    with fresh_page(browser, viewport={"width": 1200, "height": 1600}) as page:
        page.goto(f"{server.url}/admin", timeout=WAIT_MS)
        page.get_by_label("Admin password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Preview as an evaluator").click(timeout=WAIT_MS)
        headings = []
        for number in range(1, len(steps) + 1):
            page.get_by_text(f"step {number} of {len(steps)}").wait_for(timeout=WAIT_MS)
            settle(page)
            headings.append(page.locator("[data-testid='stHeading'] h3").first.inner_text())
            if steps[number - 1].startswith("clip:"):  # the real player, with the clip's audio
                source = page.locator("audio[src]").first.get_attribute("src", timeout=WAIT_MS)
                assert source.startswith("/clips/") and source.endswith(".wav")
            if number < len(steps):
                page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="End the preview").click()
        page.get_by_role("button", name="Preview as an evaluator").wait_for(timeout=WAIT_MS)
    assert headings[0] == "Two models" and headings[-1] == "Thank you!"
    assert "Practice clip" in headings and "Clip 4 of 4" in headings
    assert rows() == before
