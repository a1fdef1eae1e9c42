"""The Chromium evaluator (`deploy/browser_evaluator.py`) takes a study whose headphone
screen is "both" (anti-phase, then Huggins) to its completion code, answering each of the
twelve sounds by its trial's own answer, as `deploy/load.py` does without a browser."""

import pytest

from db.engine import open_database, transaction
from db.models import Participant, Rating
from deploy.app_server import free_port
from deploy.browser_evaluator import WAIT_MS, consent_and_screen, rate_current_clip
from deploy.load import clip_headings
from drumeval.study.synthetic import make_study
from tests.browser_support import fresh_page, served_app

pytestmark = pytest.mark.browser
CLIPS = 2


@pytest.fixture
def both_screen_server(tmp_path, monkeypatch):
    """An SQLite database with a tiny open study screened by both tests, and the app."""
    home = str(tmp_path / "home")
    monkeypatch.setenv("DRUMEVAL_HOME", home)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = open_database()
    port = free_port()
    make_study(
        engine,
        clips_per_participant=CLIPS,
        headphone_screen="both",
        completion_url=f"http://127.0.0.1:{port}/?completed=1",
    )
    with served_app(home, port=port) as server:
        yield server, engine


def test_the_evaluator_passes_a_both_screen_and_finishes(both_screen_server, browser):
    server, engine = both_screen_server
    with fresh_page(browser, viewport={"width": 1000, "height": 1500}) as page:
        page.goto(f"{server.url}/study?s=tiny", timeout=WAIT_MS)
        consent_and_screen(page, engine)
        assert page.locator("audio[src^='/clips/']").count() == 0  # past the check
        page.get_by_role("button", name="Start with the practice clip").click()
        for heading in clip_headings(CLIPS):
            rate_current_clip(page, heading)
        page.get_by_text("Thank you!").wait_for(timeout=WAIT_MS)
        page.wait_for_url("**/?completed=1", timeout=WAIT_MS)
    with transaction(engine) as session:
        participant = session.query(Participant).one()
        assert participant.status == "finished" and participant.completion_code
        assert participant.screening["passed"] is True
        assert participant.screening["correct_per_test"] == {
            "woods2017-antiphase": 6,
            "milne2021-huggins": 6,
        }
        assert session.query(Rating).count() == CLIPS + 1
