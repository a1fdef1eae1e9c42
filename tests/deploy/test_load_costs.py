"""Where a submit's server time goes: the study page's costs per script run (in-process), the
app server's script-run log, and the capacity a load curve shows (`benchmarks/bench_load.py`)."""

import json
import os

import pytest
from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
from streamlit.testing.v1 import AppTest

from db.engine import open_database, transaction
from db.models import Rating
from deploy import load
from drumeval.study import content
from drumeval.study.synthetic import make_study

ANSWERS_PER_CLIP = len(content.CRITERIA) + 2  # the criteria, the genre and how sure


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATABASE_URL", raising=False)


def test_each_clip_costs_a_report_one_run_per_answer_and_a_submit_that_writes_the_rating():
    engine = open_database()
    ids = make_study(engine, headphone_check=False, clips_per_participant=2)
    costs = load.study_page_costs(clips=2)
    per_clip = ["player report", *["answer"] * ANSWERS_PER_CLIP, "submit"]
    assert [cost.cause for cost in costs] == per_clip * 2
    with transaction(engine) as session:
        stored = session.query(Rating).filter(Rating.study_id == ids["study_id"]).count()
    assert stored == 2  # the practice clip and the first clip: every submit was written
    for cost in costs:
        assert 0 < cost.cpu_s <= cost.wall_s + 0.05
        assert cost.deltas > 0 and cost.message_bytes > 100
    submits = [cost for cost in costs if cost.cause == "submit"]
    assert all("submit_rating" in cost.flow_s for cost in submits)
    answers = [cost for cost in costs if cost.cause == "answer"]
    assert all("save_clip_draft" in cost.flow_s for cost in answers)  # each answer is kept
    # A flow call that makes another is timed once, by its outermost name.
    assert all("_participant" not in cost.flow_s for cost in costs)
    assert min(s.statements for s in submits) > min(a.statements for a in answers)


def test_the_run_log_summarises_waits_runs_and_clicks(tmp_path):
    lines = [
        {"session": "a", "requested": 10.0, "started": 10.5, "ended": 10.75, "cpu": 0.01,
         "fragment": False, "click": True},
        {"session": "a", "requested": None, "started": 11.0, "ended": 11.5, "cpu": 0.02,
         "fragment": True, "click": False},
    ]  # fmt: skip
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    log = load.ScriptRunLog.read(path)
    assert log.runs == 2 and log.fragment_runs == 1
    assert log.queued_s == [0.5, 0.0]  # a run without a request waited for nothing
    assert log.run_s == [0.25, 0.5] and log.click_run_s == [0.25]
    assert log.cpu_s == [0.01, 0.02] and log.wall_seconds == 1.5
    assert load.ScriptRunLog.read(tmp_path / "missing.jsonl").runs == 0


def test_the_hook_logs_every_script_run_of_the_process(tmp_path, monkeypatch):
    for name in ("request_rerun", "_run_script"):  # restored after the test
        monkeypatch.setattr(ScriptRunner, name, getattr(ScriptRunner, name))
    path = tmp_path / "runs.jsonl"
    load.log_script_runs(str(path))
    app = AppTest.from_string(
        "import streamlit as st\nst.button('Go', key='go')\nst.write('hello')", default_timeout=30
    )
    app.run()
    app.button[0].click().run()
    runs = [json.loads(line) for line in path.read_text().splitlines()]
    assert [run["click"] for run in runs] == [False, True]
    assert all(run["ended"] >= run["started"] and run["cpu"] > 0 for run in runs)


def test_servers_started_inside_the_log_context_get_the_hook(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    with load.script_run_log(tmp_path) as path:
        assert os.environ[load.RUN_LOG_ENV] == str(path)
        assert os.environ["PYTHONPATH"].split(os.pathsep) == [str(tmp_path), "/elsewhere"]
        assert "log_script_runs" in (tmp_path / "sitecustomize.py").read_text()
    assert os.environ["PYTHONPATH"] == "/elsewhere" and load.RUN_LOG_ENV not in os.environ


@pytest.mark.parametrize(
    ("p95_by_evaluators", "served"),
    [
        ({10: 0.1, 25: 0.2, 50: 0.29, 100: 0.5}, 50),
        ({10: 0.1, 25: 0.4, 50: 0.2, 100: 0.2}, 10),  # a bump: no more than held throughout
        ({10: 0.3, 25: 0.1}, 0),  # the target is strict: 300 ms is a miss
        ({}, 0),
    ],
)
def test_the_curve_serves_the_most_evaluators_held_at_every_lighter_load(p95_by_evaluators, served):
    assert load.evaluators_served(p95_by_evaluators, 0.3) == served


def test_the_served_app_runs_no_full_garbage_collection_after_each_script_run():
    """Streamlit's default `gc.collect()` after every run costs ≈ 75 ms of CPU with the app's
    modules loaded: most of a rerun, and of a submit's wait under load (docs/benchmarks.md)."""
    import tomllib

    from drumeval.paths import REPO_ROOT

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["maxUploadSize"] == 5  # the server section kept its settings
