"""The scale-out deployment on this machine: nginx + two replicas + PostgreSQL.

Two people take the study through the proxy, each pinned to a different replica by the
affinity cookie; one replica is SIGKILLed mid-study, its evaluator reopens their link and
carries on on the other replica, the killed replica is restarted, and both finish with
every rating stored once. A short load test checks the rating invariants under 20
concurrent evaluators on each backend (timings are `benchmarks/bench_load.py`'s job).
"""

from urllib.parse import urlparse

import pytest

from db.engine import make_engine, transaction
from db.models import Participant, Rating
from deploy import load
from deploy.browser_evaluator import WAIT_MS, consent_and_screen, rate_current_clip
from drumeval.study.synthetic import make_study

CLIPS = 4


@pytest.fixture(scope="module")
def deployment():
    from deploy import replicas

    running = replicas.start(2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DRUMEVAL_HOME", running.env["DRUMEVAL_HOME"])  # the replicas' clip store
        engine = make_engine(running.database_url)
        make_study(engine, clips_per_participant=CLIPS)
        yield running, engine
        engine.dispose()
    running.stop()


def test_the_proxy_config_names_every_replica_and_keeps_the_websocket(tmp_path):
    from deploy.replicas import nginx_config

    config = nginx_config(tmp_path, 8080, [9001, 9002])
    assert "{{" not in config and "listen 127.0.0.1:8080;" in config
    assert config.count("server 127.0.0.1:900") == 2 and "hash $drumeval_route consistent" in config
    assert "proxy_set_header Upgrade $http_upgrade;" in config
    assert f"pid {tmp_path}/nginx.pid;" in config


def _replica_port(response) -> int:
    return int(response.headers["x-drumeval-replica"].split(",")[-1].rsplit(":", 1)[1])


@pytest.mark.browser
def test_evaluators_resume_on_another_replica_when_theirs_is_killed(deployment, browser):
    from deploy.replicas import ROUTE_COOKIE

    running, engine = deployment
    routes = running.routes_per_replica()
    headings = load.clip_headings(CLIPS)
    pages = []
    for number, route in enumerate(routes):
        context = browser.new_context()
        context.add_cookies([{"name": ROUTE_COOKIE, "value": route, "url": running.url}])
        page = context.new_page()
        response = page.goto(
            f"{running.url}/study?s=tiny&PROLIFIC_PID={load.BROWSER_PREFIX}{number}",
            timeout=WAIT_MS,
        )
        assert _replica_port(response) == running.replicas[number].port
        consent_and_screen(page, engine)
        page.get_by_role("button", name="Start with the practice clip").click()
        pages.append(page)
    first, second = pages
    for page in pages:
        rate_current_clip(page, headings[0])
        rate_current_clip(page, headings[1])

    running.replicas[0].kill()  # SIGKILL the first evaluator's replica mid-study
    response = first.goto(first.url, timeout=WAIT_MS)
    assert _replica_port(response) == running.replicas[1].port
    assert urlparse(first.url).path == "/study"
    rate_current_clip(first, headings[2])
    rate_current_clip(second, headings[2])
    running.replicas[0].start()
    for page in pages:
        for heading in headings[3:]:
            rate_current_clip(page, heading)
        page.get_by_text("Thank you!").wait_for(timeout=WAIT_MS)

    with transaction(engine) as session:
        participants = session.query(Participant).all()
        assert sorted(p.status for p in participants) == ["finished", "finished"]
        assert session.query(Rating).count() == 2 * (CLIPS + 1)
        study = participants[0].study_id
    audit = load.audit(engine, study)
    assert audit.problems() == [] and audit.ratings == 2 * (CLIPS + 1)


@pytest.mark.parametrize("evaluators", [20])
def test_concurrent_evaluators_lose_double_and_cross_nothing(
    db_engine, tmp_path, monkeypatch, evaluators
):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    ids = make_study(db_engine, clips_per_participant=CLIPS)
    run = load.run_evaluators(db_engine, "tiny", evaluators)
    assert run.errors == []
    assert run.ratings == evaluators * (CLIPS + 1) and run.repeats > 0
    audit = load.audit(db_engine, ids["study_id"], run)
    assert audit.problems() == []
    assert (audit.participants, audit.ratings) == (evaluators, evaluators * (CLIPS + 1))


def test_the_audit_finds_a_crossed_and_a_lost_rating(db_engine, tmp_path, monkeypatch):
    from sqlalchemy import delete, select, update

    from db.models import Event

    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    ids = make_study(db_engine, clips_per_participant=CLIPS)
    run = load.run_evaluators(db_engine, "tiny", 2)
    assert load.audit(db_engine, ids["study_id"], run).problems() == []
    with transaction(db_engine, write_lock=True) as session:
        first, second = session.scalars(select(Rating).order_by(Rating.id).limit(2)).all()
        session.execute(update(Rating).where(Rating.id == first.id).values(comment="someone else"))
        session.execute(delete(Rating).where(Rating.id == second.id))
        event = session.scalars(select(Event.id).where(Event.kind == "rating").limit(1)).first()
        session.execute(delete(Event).where(Event.id == event))
    audit = load.audit(db_engine, ids["study_id"], run)
    assert (audit.crossed, audit.lost, audit.unreported, audit.duplicated) == (1, 1, 1, 0)
