"""A person takes a study in real Chromium, on SQLite and on PostgreSQL.

The invite link is the first page a fresh browser opens (no visit to the root first); the
test reloads mid-study, finishes, and checks the exact rows the database holds. A second
test kills the server with SIGKILL mid-study and resumes on a restarted one.
"""

import os
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from db.engine import open_database, transaction
from db.models import Assignment, Event, Participant, Rating
from deploy.app_server import free_port
from deploy.browser_evaluator import (
    WAIT_MS,
    audio_player,
    choose,
    consent_and_questionnaire,
    consent_and_screen,
    fill_rating,
    headphone_answers,
    headphone_sounds,
    listen_to_the_end,
    pass_headphone_check,
    play_to_the_end,
    radio_group,
    rate_current_clip,
    settle,
    token_of,
    wait_until_answerable,
)
from drumeval.study import content, flow
from drumeval.study.synthetic import make_study
from tests.browser_support import fresh_page, served_app

pytestmark = pytest.mark.browser
SCREENSHOTS_ENV = "DRUMEVAL_SCREENSHOTS"  # copy the screenshots there (the README's)


@pytest.fixture(params=["sqlite", "postgresql"])
def study_server(request, tmp_path, monkeypatch):
    """A migrated database with a tiny open study, and the app serving it."""
    env = {"DRUMEVAL_HOME": str(tmp_path / "home")}
    monkeypatch.setenv("DRUMEVAL_HOME", env["DRUMEVAL_HOME"])
    if request.param == "postgresql":
        from deploy.pg_server import create_database

        template = request.getfixturevalue("_postgres_migrated_template")
        name = f"browser_{uuid.uuid4().hex[:12]}"
        env["DATABASE_URL"] = create_database(
            request.getfixturevalue("postgres_server"), name, template=template
        )
        monkeypatch.setenv("DATABASE_URL", env["DATABASE_URL"])
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = open_database()
    port = free_port()
    make_study(engine, completion_url=f"http://127.0.0.1:{port}/?completed=1")
    home, database_url = env["DRUMEVAL_HOME"], env.get("DATABASE_URL", "")
    with served_app(home, database_url=database_url, port=port) as server:
        yield server, engine


def _shot(page, shots: Path, name: str) -> None:
    """A screenshot once Streamlit is idle: taken mid-rerun, it caught the previous screen's
    elements greyed out as stale beside the new one's."""
    settle(page)
    page.locator("[data-stale='true']").first.wait_for(state="detached", timeout=WAIT_MS)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"))


def test_a_person_takes_the_study_in_chromium(study_server, browser, tmp_path):
    server, engine = study_server
    shots = tmp_path / "shots"
    context = browser.new_context(viewport={"width": 1000, "height": 1500})
    page = context.new_page()
    page.goto(f"{server.url}/study?s=tiny&PROLIFIC_PID=p-1&STUDY_ID=s-1", timeout=WAIT_MS)
    page.get_by_role("button", name="I agree — start the study").wait_for(timeout=WAIT_MS)
    assert page.get_by_text("Page not found").count() == 0
    _shot(page, shots, "1-consent")
    token = consent_and_screen(page, engine)
    _shot(page, shots, "2-instructions")
    page.get_by_role("button", name="Start with the practice clip").click()
    rate_current_clip(page, "Practice clip")
    page.get_by_text("Clip 1 of 4", exact=True).wait_for(timeout=WAIT_MS)
    _shot(page, shots, "3-clip")
    rate_current_clip(page, "Clip 1 of 4")
    page.reload()  # mid-study: a new Streamlit session, resumed from the URL and the database
    rate_current_clip(page, "Clip 2 of 4")
    rate_current_clip(page, "Clip 3 of 4")
    rate_current_clip(page, "Clip 4 of 4")
    page.get_by_text("Thank you!").wait_for(timeout=WAIT_MS)
    _shot(page, shots, "4-done")
    page.wait_for_url("**/?completed=1", timeout=WAIT_MS)  # back to the "recruiter"
    context.close()

    study = flow.load_study(engine, "tiny")
    with transaction(engine) as session:
        participant = session.query(Participant).one()
        assert participant.external_ids == {"PROLIFIC_PID": "p-1", "STUDY_ID": "s-1"}
        assert participant.status == "finished" and participant.completion_code
        assignments = session.query(Assignment).order_by(Assignment.position).all()
        ratings = {rating.clip_id: rating for rating in session.query(Rating)}
        assert [a.position for a in assignments] == [0, 1, 2, 3, 4]
        assert set(ratings) == {a.clip_id for a in assignments}
        for rating in ratings.values():
            assert (rating.short_term_phrasing, rating.long_term_phrasing) == (1, 1)
            assert (rating.originality, rating.realism) == (1, 1)
            assert (rating.genre_answer, rating.genre_confidence) == ("jazz-soul", 4)
            assert rating.listened_seconds >= 2.0 - 0.5 and rating.play_count >= 1
        assert sum(rating.is_training for rating in ratings.values()) == 1
        kinds = [event.kind for event in session.query(Event).order_by(Event.id)]
        assert kinds.count("rating") == 5 and kinds.count("consent") == 1
        assert kinds.count("resume") == 1 and "finish" in kinds
    assert flow.progress(engine, study, token).step is flow.Step.FINISHED
    if target := os.environ.get(SCREENSHOTS_ENV):
        shutil.copytree(shots, target, dirs_exist_ok=True)


def test_a_killed_server_loses_nothing(study_server, browser):
    server, engine = study_server
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/study?s=tiny", timeout=WAIT_MS)
    consent_and_screen(page, engine)
    page.get_by_role("button", name="Start with the practice clip").click()
    rate_current_clip(page, "Practice clip")
    rate_current_clip(page, "Clip 1 of 4")
    resume_url = page.url
    server.kill()  # SIGKILL mid-study
    server.start()
    page.goto(resume_url, timeout=WAIT_MS)
    rate_current_clip(page, "Clip 2 of 4")
    context.close()
    with transaction(engine) as session:
        assert session.query(Rating).count() == 3
        assert session.query(Assignment).count() == 5
        assert session.query(Participant).count() == 1


def test_a_rating_survives_a_locked_database(browser, tmp_path, monkeypatch):
    """The database is locked when the evaluator submits: the page says so, keeps the
    rating, retries by itself and writes it once the lock is gone."""
    import sqlite3

    from db.engine import BUSY_TIMEOUT_ENV
    from drumeval.paths import sqlite_path

    home = tmp_path / "home"
    monkeypatch.setenv("DRUMEVAL_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = open_database()
    make_study(engine, headphone_check=False)
    with served_app(home, **{BUSY_TIMEOUT_ENV: "0.3"}) as server:
        page = browser.new_context().new_page()
        page.goto(f"{server.url}/study?s=tiny", timeout=WAIT_MS)
        page.get_by_role("button", name="I agree — start the study").click(timeout=WAIT_MS)
        for _key, question, options in content.QUESTIONNAIRE:
            choose(page, question, options[0])
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Start with the practice clip").click(timeout=WAIT_MS)
        page.get_by_text("Practice clip", exact=True).wait_for(timeout=WAIT_MS)
        listen_to_the_end(page, "Practice clip")
        fill_rating(page, "0", "Can't tell", "1")
        blocker = sqlite3.connect(sqlite_path(), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            page.get_by_role("button", name="Submit rating").click()
            page.get_by_text("could not save your rating yet").wait_for(timeout=WAIT_MS)
            with transaction(engine) as session:
                assert session.query(Rating).count() == 0
            page.wait_for_timeout(4000)  # a retry or two while still locked
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        page.get_by_text("Clip 1 of 4", exact=True).wait_for(timeout=WAIT_MS)
        with transaction(engine) as session:
            assert session.query(Rating).count() == 1


def _heading_top(page, heading: str) -> float:
    box = page.get_by_text(heading, exact=True).bounding_box()
    assert box is not None, f"{heading!r} is not on the page"
    return box["y"]


@pytest.mark.parametrize("study_server", ["sqlite"], indirect=True)
def test_each_new_clip_starts_at_the_top(study_server, browser):
    """The submit button sits at the bottom of a long form; the next clip's heading and
    player must be in view after it, not scrolled away above the window."""
    server, engine = study_server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/study?s=tiny", timeout=WAIT_MS)
    consent_and_screen(page, engine)
    assert _heading_top(page, "How to rate") >= 0
    page.get_by_role("button", name="Start with the practice clip").click()
    previous = "Practice clip"
    for heading in ("Clip 1 of 4", "Clip 2 of 4"):
        rate_current_clip(page, previous)
        page.get_by_text(heading, exact=True).wait_for(timeout=WAIT_MS)
        settle(page)
        assert _heading_top(page, heading) >= 0, f"{heading} opened scrolled past its heading"
        previous = heading
    context.close()


@pytest.mark.parametrize("study_server", ["sqlite"], indirect=True)
def test_a_whole_study_session_requests_nothing_from_another_origin(study_server, browser):
    """Every request an evaluator's browser makes, from the invite link to the end page,
    goes to the app itself: no font host, CDN or tracker learns a participant's IP address."""
    server, engine = study_server
    context = browser.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda socket: requested.append(socket.url))
    page.goto(f"{server.url}/study?s=tiny", timeout=WAIT_MS)
    consent_and_screen(page, engine)
    page.get_by_role("button", name="Start with the practice clip").click()
    for heading in ("Practice clip", "Clip 1 of 4", "Clip 2 of 4", "Clip 3 of 4", "Clip 4 of 4"):
        rate_current_clip(page, heading)
    page.get_by_text("Thank you!").wait_for(timeout=WAIT_MS)
    page.wait_for_url("**/?completed=1", timeout=WAIT_MS)
    page.wait_for_timeout(1000)  # late requests (favicons, prefetches) of the last page
    context.close()
    network = [url for url in requested if urlparse(url).scheme not in ("data", "blob")]
    assert any(urlparse(url).path.startswith("/clips/") for url in network)
    assert any(urlparse(url).scheme == "ws" for url in network)
    assert {urlparse(url).netloc for url in network} == {urlparse(server.url).netloc}, sorted(
        {url for url in network if urlparse(url).netloc != urlparse(server.url).netloc}
    )


def _disabled(answers) -> list[bool]:
    return answers.evaluate_all("inputs => inputs.map(input => input.disabled)")


@pytest.mark.parametrize("study_server", ["sqlite"], indirect=True)
def test_headphone_answers_are_locked_until_their_sound_was_played(study_server, browser):
    """An answer to a sound nobody played is a guess: each trial's radios stay disabled
    until that trial's sound has played to its end (a click on them changes nothing)."""
    server, engine = study_server
    page = browser.new_context().new_page()
    page.goto(f"{server.url}/study?s=tiny", timeout=WAIT_MS)
    consent_and_questionnaire(page)
    sounds = headphone_sounds(page)
    settle(page)
    for number in range(1, 7):
        assert _disabled(headphone_answers(page, number)) == [True] * 3, f"sound {number}"
    radio_group = page.locator("[data-testid='stRadio']").filter(has_text="in sound 1?")
    radio_group.get_by_text("Tone 1", exact=True).click(force=True)
    settle(page)
    assert not any(headphone_answers(page, 1).evaluate_all("inputs => inputs.map(i => i.checked)"))
    play_to_the_end(sounds.nth(2))  # the third sound only
    wait_until_answerable(page, 3)
    settle(page)
    assert _disabled(headphone_answers(page, 3)) == [False] * 3
    assert _disabled(headphone_answers(page, 1)) == [True] * 3
    pass_headphone_check(page, engine, token_of(page))
    page.context.close()


def _seconds_left(page, heading: str) -> int:
    """The locked player's countdown ("…: 0:06 left.") for the clip under `heading`."""
    token = "0" if heading == "Practice clip" else heading.split()[1]
    status = page.locator(".player").filter(has=page.locator(f"audio[data-token='{token}']"))
    text = status.locator(".status").inner_text(timeout=WAIT_MS)
    minutes, seconds = text.rsplit(" ", 2)[-2].split(":")
    return int(minutes) * 60 + int(seconds)


def _checked(page, label: str) -> str | None:
    return radio_group(page, label).evaluate(
        "group => { const input = group.querySelector('input:checked');"
        " return input ? input.closest('label').innerText.trim() : null; }"
    )


def test_a_reload_mid_clip_keeps_what_was_heard_and_ticked(browser, tmp_path, monkeypatch):
    """Listening progress and the form's answers live in the database, not in the browser
    tab: a reload mid-clip restores the seconds heard and the ticked radios, and the rating
    counts the plays before and after it."""
    home = tmp_path / "home"
    monkeypatch.setenv("DRUMEVAL_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = open_database()
    make_study(
        engine, slug="long", clip_seconds=12.0, min_listen_seconds=10.0, headphone_check=False
    )
    with served_app(home) as server:
        _reload_mid_clip(server, engine, browser)


def _wait_for_the_draft(engine, timeout_s: float = 20.0) -> None:
    """Until the ticked answers are in the database (what the reload is about), not longer."""
    from sqlalchemy import text

    deadline = time.monotonic() + timeout_s
    query = text("SELECT count(*) FROM assignments WHERE draft_answers IS NOT NULL")
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(query).scalar():
                return
        time.sleep(0.2)
    raise AssertionError(f"no draft answers stored within {timeout_s:g} s")


def _to_the_practice_clip(page, server) -> str:
    """From the invite link of the study "long" (no headphone check) to its practice clip."""
    page.goto(f"{server.url}/study?s=long", timeout=WAIT_MS)
    page.get_by_role("button", name="I agree — start the study").click(timeout=WAIT_MS)
    for _key, question, options in content.QUESTIONNAIRE:
        choose(page, question, options[0])
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Start with the practice clip").click(timeout=WAIT_MS)
    heading = "Practice clip"
    page.get_by_text(heading, exact=True).wait_for(timeout=WAIT_MS)
    settle(page)
    return heading


def _reload_mid_clip(server, engine, browser) -> None:
    page = browser.new_context().new_page()
    heading = _to_the_practice_clip(page, server)
    assert _seconds_left(page, heading) == 10
    ticked = {content.CRITERIA[0].label: "+", content.GENRE_QUESTION: "Jazz / soul"}
    for label, option in ticked.items():
        choose(page, label, option)
        settle(page)
    audio_player(page, heading).evaluate("audio => audio.play()")
    page.wait_for_timeout(7000)  # about 7 s heard; the reload comes without a pause
    _wait_for_the_draft(engine)  # saved on the player's 3-s tick, later on a loaded machine
    page.reload()
    page.get_by_text(heading, exact=True).wait_for(timeout=WAIT_MS)
    settle(page)
    assert _seconds_left(page, heading) <= 10 - 4, "the seconds heard before the reload were lost"
    assert {label: _checked(page, label) for label in ticked} == ticked
    listen_to_the_end(page, heading)
    fill_rating(page, "+", "Jazz / soul", "4")
    page.get_by_role("button", name="Submit rating").click()
    page.get_by_text("Clip 1 of 4", exact=True).wait_for(timeout=WAIT_MS)
    page.context.close()
    with transaction(engine) as session:
        rating = session.query(Rating).one()
        assert rating.play_count == 2
        assert rating.listened_seconds >= 10 - 0.5


def test_a_busy_page_does_not_cost_the_listener_seconds_heard(browser, tmp_path, monkeypatch):
    """The clip keeps playing while the page's main thread is busy (a rerun, a slow machine);
    the seconds it played then are heard, so one play to the end unlocks the form. The
    player used to count only progress events under 1 s apart, and a 3.5-s stall left the
    listener locked out at the end of the clip with seconds still "left"."""
    home = tmp_path / "home"
    monkeypatch.setenv("DRUMEVAL_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    make_study(
        open_database(),
        slug="long",
        clip_seconds=12.0,
        min_listen_seconds=10.0,
        headphone_check=False,
    )
    with served_app(home) as server, fresh_page(browser) as page:
        heading = _to_the_practice_clip(page, server)
        audio = audio_player(page, heading)
        audio.evaluate("audio => audio.play()")
        audio.evaluate(
            "audio => new Promise(done => audio.addEventListener("
            "'timeupdate', () => audio.currentTime > 2 && done()))"
        )
        # The page's main thread is busy for 3.5 s while the audio plays on.
        audio.evaluate("audio => { const end = Date.now() + 3500; while (Date.now() < end); }")
        audio.evaluate(
            "audio => audio.ended || new Promise(done => audio.addEventListener('ended', done))",
            timeout=WAIT_MS,
        )
        status = page.locator(".player").filter(has=page.locator("audio[data-token='0']"))
        status = status.locator(".status")
        assert "done" in status.get_attribute("class"), (
            f"one play to the end left it locked: {status.inner_text()!r}"
        )
