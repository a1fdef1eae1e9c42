"""The arena in real Chromium from a fresh browser: listen to A and B, vote, see the reveal,
vote again and watch the leaderboard count it; every request goes to the app's own origin."""

import re
from urllib.parse import urlparse

import pytest

from db.engine import open_database, transaction
from db.models import PairwiseVote
from deploy.browser_evaluator import WAIT_MS, settle
from drumeval.study import arena
from tests.browser_support import served_app
from tests.factories import make_arena

pytestmark = pytest.mark.browser
NAMES = ("DrumsRNN", "MusicVAE", "drums_rnn", "music_vae", "arena/", "Human drummer (")


@pytest.fixture
def arena_server(tmp_path, monkeypatch):
    home = str(tmp_path / "home")
    monkeypatch.setenv("DRUMEVAL_HOME", home)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = open_database()
    make_arena(engine, min_listen_seconds=2)
    with served_app(home) as server:
        yield server, engine


def _listen_to_both(page) -> None:
    """Play A to its end, switch to B and play it from the start (each side counts alone)."""
    side = [page.locator(f"audio.side[data-side='{s}']") for s in (0, 1)]
    side[0].wait_for(state="attached", timeout=WAIT_MS)
    page.get_by_role("button", name="Play", exact=True).click()
    side[0].evaluate("a => new Promise(r => a.ended ? r() : a.addEventListener('ended', r))")
    page.get_by_role("button", name="B", exact=True).click()
    side[1].evaluate(
        "b => new Promise(r => { b.addEventListener('ended', r, { once: true });"
        " b.currentTime = 0; b.play(); })"
    )


def _vote(page, label: str) -> None:
    from playwright.sync_api import expect

    button = page.get_by_role("button", name=label, exact=True)
    expect(button).to_be_enabled(timeout=WAIT_MS)
    button.click()
    page.get_by_role("button", name="Next pair").wait_for(timeout=WAIT_MS)
    page.get_by_text(re.compile(r"^Pair \d+$")).wait_for(state="detached", timeout=WAIT_MS)
    settle(page)


def test_a_fresh_browser_listens_votes_sees_the_reveal_and_the_board(arena_server, browser):
    server, engine = arena_server
    context = browser.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda socket: requested.append(socket.url))
    page.goto(f"{server.url}/arena", timeout=WAIT_MS)
    page.get_by_text("Pair 1", exact=True).wait_for(timeout=WAIT_MS)
    settle(page)
    assert page.get_by_role("button", name="A is better").is_disabled()
    sources = page.locator("audio.side").evaluate_all("audios => audios.map(a => a.src)")
    assert all(re.search(r"/clips/[0-9a-f]{64}\.wav$", src) for src in sources), sources
    dom = page.content() + page.locator("body").inner_text()
    assert not [name for name in NAMES if name in dom]

    _listen_to_both(page)
    _vote(page, "B is better")
    labels = {c.label for c in arena.contestants()}
    revealed = page.locator("body").inner_text().split("Leaderboard")[0]
    assert sum(label in revealed for label in labels) == 2, revealed
    page.get_by_text("Leaderboard", exact=True).wait_for(timeout=WAIT_MS)
    page.get_by_text("over 1 counted votes").wait_for(timeout=WAIT_MS)

    page.get_by_role("button", name="Next pair").click()
    page.get_by_text("Pair 2", exact=True).wait_for(timeout=WAIT_MS)
    settle(page)
    _listen_to_both(page)
    _vote(page, "Tie")
    page.get_by_text("over 2 counted votes").wait_for(timeout=WAIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0
    page.wait_for_timeout(1000)  # late requests of the last page
    context.close()

    with transaction(engine) as session:
        votes = session.query(PairwiseVote).order_by(PairwiseVote.id).all()
    assert [v.outcome for v in votes] == ["b", "tie"] and all(v.flag is None for v in votes)
    assert all(min(v.heard_a_seconds, v.heard_b_seconds) >= 2 - 0.5 for v in votes)
    network = [url for url in requested if urlparse(url).scheme not in ("data", "blob")]
    assert any(urlparse(url).path.startswith("/clips/") for url in network)
    assert {urlparse(url).netloc for url in network} == {urlparse(server.url).netloc}
