"""A person takes a pairwise study and a MUSHRA-style study in real Chromium, from the invite
link to the completion code, with a reload mid-study and a double submit, on SQLite and
PostgreSQL; the database holds exactly one answer per page, and the pages name no model."""

import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from db.engine import open_database, transaction
from db.models import Event, MushraScore, PairwiseVote, Participant
from deploy.app_server import free_port
from deploy.browser_evaluator import (
    WAIT_MS,
    consent_and_questionnaire,
    pair_player,
    score_current_page,
    settle,
    vote_current_pair,
)
from drumeval.study.setup import revealing_names
from tests.browser_support import served_app
from tests.factories import make_trial_study
from tests.ui.test_blinding import CLIP_URL

pytestmark = pytest.mark.browser
PAGES = 3


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_env(request, tmp_path, monkeypatch):
    env = {"DRUMEVAL_HOME": str(tmp_path / "home")}
    monkeypatch.setenv("DRUMEVAL_HOME", env["DRUMEVAL_HOME"])
    if request.param == "postgresql":
        from deploy.pg_server import create_database

        template = request.getfixturevalue("_postgres_migrated_template")
        env["DATABASE_URL"] = create_database(
            request.getfixturevalue("postgres_server"),
            f"trials_{uuid.uuid4().hex[:12]}",
            template=template,
        )
        monkeypatch.setenv("DATABASE_URL", env["DATABASE_URL"])
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    return env


@contextmanager
def _serve(env: dict, trial_type: str):
    engine = open_database()
    port = free_port()
    study = make_trial_study(
        engine,
        trial_type=trial_type,
        trials_per_participant=PAGES,
        clip_seconds=4.0,
        min_listen_seconds=2.0,
        completion_url=f"http://127.0.0.1:{port}/?completed=1",
    )
    database_url = env.get("DATABASE_URL", "")
    with served_app(env["DRUMEVAL_HOME"], database_url=database_url, port=port) as server:
        yield server, engine, study


def _assert_blind(page, conditions) -> None:
    """No visible text, page URL or audio URL names a model, corpus or role (Streamlit's own
    markup has words like "iframeResizerAnchor", so the text is read, not the HTML)."""
    seen = " ".join(
        [
            page.locator("body").inner_text(),
            page.url,
            *page.locator("audio").evaluate_all("audios => audios.map(audio => audio.src)"),
        ]
    ).lower()
    for name in [*revealing_names(tuple(conditions)), "reference", "anchor"]:
        assert name.lower() not in seen, f"the page names {name!r}"


def _recorded(context) -> list[str]:
    """Every URL the browser context requests, from here on."""
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    return requested


def _assert_requests_blind(context, requested: list[str], origin: str, conditions) -> None:
    """Every request went to the app's own origin, and neither a URL nor the bytes of any
    audio file fetched (`/clips/<sha256>.<ext>`) names a model, corpus or role."""
    assert {url.split("/")[2] for url in requested} == {origin.split("/")[2]}, requested
    names = [*revealing_names(tuple(conditions)), "reference", "anchor"]
    clips = sorted({url for url in requested if CLIP_URL.search(url)})
    assert clips, "no audio was fetched"
    audio = b" ".join(context.request.get(url).body() for url in clips).lower()
    for name in names:
        assert all(name.lower() not in url.lower() for url in requested), name
        assert name.lower().encode() not in audio, f"the audio bytes name {name!r}"


def test_a_person_takes_a_pairwise_study_in_chromium(backend_env, browser):
    with _serve(backend_env, "pairwise") as (server, engine, study):
        context = browser.new_context()
        requested = _recorded(context)
        page = context.new_page()
        page.goto(f"{server.url}/study?s=trials", timeout=WAIT_MS)
        consent_and_questionnaire(page)
        page.get_by_role("button", name="Start", exact=True).click()
        page.get_by_text(f"Pair 1 of {PAGES}", exact=True).wait_for(timeout=WAIT_MS)
        _assert_blind(page, set(study["clips"].values()))
        # A switch to B mid-play continues at the same position.
        player = pair_player(page, 1)
        player.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_timeout(1200)
        a_time, b_time, a_paused = player.evaluate(  # the click and the reading in one go
            "player => { const [a, b] = player.querySelectorAll('audio.side');"
            " player.querySelector('button.pick[data-side=\"1\"]').click();"
            " return [a.currentTime, b.currentTime, a.paused]; }"
        )
        assert a_paused and abs(a_time - b_time) < 0.05 and a_time > 0.2
        page.wait_for_timeout(500)
        assert player.locator("audio.side[data-side='1']").evaluate("b => !b.paused")
        settle(page)
        vote_current_pair(page, 1, PAGES, "B is better")
        page.reload()  # a new Streamlit session, resumed from the URL and the database
        vote_current_pair(page, 2, PAGES, "Tie", double=True)
        vote_current_pair(page, 3, PAGES, "Both bad")
        page.get_by_text("Thank you!").wait_for(timeout=WAIT_MS)
        code = page.locator("[data-testid='stCode']").inner_text().strip()
        page.wait_for_url("**/?completed=1", timeout=WAIT_MS)
        _assert_requests_blind(context, requested, server.url, set(study["clips"].values()))
    with transaction(engine) as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.status == "finished" and participant.completion_code == code
        votes = session.scalars(select(PairwiseVote).order_by(PairwiseVote.id)).all()
        assert [vote.outcome for vote in votes] == ["b", "tie", "both_bad"]
        assert all(min(v.heard_a_seconds, v.heard_b_seconds) >= 1.5 for v in votes)
        kinds = [event.kind for event in session.scalars(select(Event))]
        assert kinds.count("vote") == 3 and kinds.count("resume") == 1


def test_a_person_takes_a_mushra_study_in_chromium(backend_env, browser):
    with _serve(backend_env, "mushra") as (server, engine, study):
        context = browser.new_context()
        requested = _recorded(context)
        page = context.new_page()
        page.goto(f"{server.url}/study?s=trials", timeout=WAIT_MS)
        consent_and_questionnaire(page)
        page.get_by_role("button", name="Start", exact=True).click()
        page.get_by_text(f"Page 1 of {PAGES}", exact=True).wait_for(timeout=WAIT_MS)
        _assert_blind(page, set(study["clips"].values()))
        submit = page.get_by_role("button", name="Listen to and rate every track to submit")
        assert submit.is_disabled()
        score_current_page(page, 1, PAGES, tracks=5)
        page.reload()
        score_current_page(page, 2, PAGES, tracks=5)
        score_current_page(page, 3, PAGES, tracks=5)
        page.get_by_text("Thank you!").wait_for(timeout=WAIT_MS)
        page.wait_for_url("**/?completed=1", timeout=WAIT_MS)
        _assert_requests_blind(context, requested, server.url, set(study["clips"].values()))
    with transaction(engine) as session:
        assert session.scalars(select(Participant.status)).one() == "finished"
        scores = session.scalars(select(MushraScore)).all()
        assert len(scores) == PAGES * 5
        assert {score.score for score in scores} == {49, 51}  # every slider moved one step
