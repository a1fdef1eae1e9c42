"""Many evaluators at once, and the invariants their ratings must keep.

The load driver of `benchmarks/bench_load.py` (long, with figures; `make stress`) and of the
replica test (short). It drives the study "tiny" of `drumeval/study/synthetic.py`.
Simulated evaluators go through the same service functions as the pages
(`drumeval.study.flow`), one thread each, all released together at the rating stage; real
Chromium sessions go through the UI (`browser_session`). Every rating carries its author's
signature (scores and comment derived from the evaluator's number; browser evaluators
rate "+" / jazz-soul / 4 without a comment), so a rating stored under the wrong participant
or clip shows up as crossed.
"""

import functools
import os
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from db.engine import transaction
from db.models import Assignment, Event, Participant, Rating, StudyClip
from drumeval.study import content, flow

LOAD_PREFIX = "load-"
BROWSER_PREFIX = "browser-"
BROWSER_SCORE, BROWSER_GENRE, BROWSER_CONFIDENCE = 1, "jazz-soul", 4
ANSWERS = {key: options[0] for key, _, options in content.QUESTIONNAIRE}
CLIPS_FOR_COSTS = 4


def _signature(number: int, clip_id: int) -> flow.RatingForm:
    """The rating evaluator `number` gives clip `clip_id`: unique enough to catch a cross."""
    scale = [value for value, _ in content.SCALE]
    return flow.RatingForm(
        scores={
            key: scale[(number + index) % len(scale)]
            for index, key in enumerate(content.CRITERION_KEYS)
        },
        genre_answer=content.GENRE_OPTIONS[number % 2][0],
        genre_confidence=content.CONFIDENCE_OPTIONS[number % 5],
        comment=f"{LOAD_PREFIX}{number} clip {clip_id}",
    )


@dataclass
class LoadRun:
    """What the simulated evaluators did and how long each rating's transaction took."""

    evaluators: int
    submit_seconds: list[float] = field(default_factory=list)
    created: dict[int, set[int]] = field(default_factory=dict)  # evaluator → clip ids
    repeats: int = 0  # double submits, each answered "already stored"
    errors: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def ratings(self) -> int:
        return sum(len(clips) for clips in self.created.values())


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))]


def run_evaluators(
    engine,
    slug: str,
    count: int,
    *,
    repeat_every: int = 3,
    offset: int = 0,
    think_seconds: float = 0.0,
) -> LoadRun:
    """`count` evaluators (numbered from `offset`) take the study in threads, all released
    together at the rating stage; every `repeat_every`-th rating is submitted twice.

    `think_seconds` = 0: each submits its next rating at once (a burst: throughput).
    Otherwise each waits a seeded uniform 0…2×`think_seconds` before every rating, an
    offered load of `count / think_seconds` ratings/s (latency at a steady rate).
    """
    study = flow.load_study(engine, slug)
    run = LoadRun(evaluators=count)
    ready = threading.Barrier(count)
    lock = threading.Lock()

    def evaluator(number: int) -> None:
        try:
            token = flow.consent(engine, study, {"PROLIFIC_PID": f"{LOAD_PREFIX}{number}"})
            flow.save_questionnaire(engine, study, token, ANSWERS)
            if study.design.headphone_check:
                trials = flow.headphone_trials(flow.progress(engine, study, token))
                flow.submit_headphone_check(engine, study, token, [t.answer for t in trials])
            flow.start(engine, study, token)
        except Exception as error:  # reported, and the barrier released for the others
            ready.abort()
            with lock:
                run.errors.append(f"evaluator {number} before rating: {error!r}")
            return
        ready.wait()
        created, latencies, repeats = set(), [], 0
        pause = random.Random(number)
        try:
            while (progress := flow.progress(engine, study, token)).step is flow.Step.RATING:
                time.sleep(pause.uniform(0, 2 * think_seconds))
                clip = progress.clip
                submit = functools.partial(
                    flow.submit_rating,
                    engine,
                    study,
                    token,
                    clip_id=clip.clip_id,
                    form=_signature(number, clip.clip_id),
                    heard_seconds=clip.min_listen_seconds,
                )
                started = time.perf_counter()
                new = submit(plays=1)
                latencies.append(time.perf_counter() - started)
                if new:
                    created.add(clip.clip_id)
                if len(latencies) % repeat_every == 0:
                    repeats += 1
                    if submit(plays=2):  # the same rating again, as a double click sends it
                        raise AssertionError(f"clip {clip.clip_id} stored twice")
            flow.finish(engine, study, token)
        except Exception as error:
            with lock:
                run.errors.append(f"evaluator {number}: {error!r}")
        with lock:
            run.created[number] = created
            run.submit_seconds.extend(latencies)
            run.repeats += repeats

    threads = [threading.Thread(target=evaluator, args=(offset + n,)) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.wall_seconds = time.perf_counter() - started
    return run


@dataclass(frozen=True)
class Audit:
    """What the database holds after a load run: every count here must be zero."""

    participants: int
    ratings: int
    lost: int  # assigned clips of finished participants without a rating
    duplicated: int  # (participant, clip) pairs stored more than once, or events doubled
    crossed: int  # ratings whose signature is not their participant's, or not assigned
    unreported: int  # ratings a simulated evaluator was told were new but are missing
    exposure_spread: int  # most- minus least-assigned clip (balanced: ≤ 1)

    def problems(self) -> list[str]:
        found = [
            f"{name}: {getattr(self, name)}"
            for name in ("lost", "duplicated", "crossed", "unreported")
            if getattr(self, name)
        ]
        if self.exposure_spread > 1:
            found.append(f"exposure differs by {self.exposure_spread} between clips")
        return found


def _signature_matches(rating: Rating, label: str) -> bool:
    if label.startswith(BROWSER_PREFIX):
        return (
            {getattr(rating, key) for key in content.CRITERION_KEYS} == {BROWSER_SCORE}
            and (rating.genre_answer, rating.genre_confidence)
            == (BROWSER_GENRE, BROWSER_CONFIDENCE)
            and rating.comment is None
        )
    if not label.startswith(LOAD_PREFIX):
        return False
    expected = _signature(int(label.removeprefix(LOAD_PREFIX)), rating.clip_id)
    return (
        {key: getattr(rating, key) for key in content.CRITERION_KEYS} == dict(expected.scores)
        and rating.genre_answer == expected.genre_answer
        and rating.genre_confidence == expected.genre_confidence
        and rating.comment == expected.comment
    )


def audit(engine, study_id: int, run: LoadRun | None = None) -> Audit:
    """Count lost, duplicated and crossed ratings and the exposure spread of one study."""
    with transaction(engine) as session:
        participants = {
            p.id: p
            for p in session.scalars(select(Participant).where(Participant.study_id == study_id))
        }
        assignments = session.scalars(
            select(Assignment).where(Assignment.participant_id.in_(participants))
        ).all()
        ratings = session.scalars(select(Rating).where(Rating.study_id == study_id)).all()
        rating_events = session.scalar(
            select(func.count()).where(Event.study_id == study_id, Event.kind == "rating")
        )
        trial_clips = session.scalars(
            select(StudyClip.clip_id).where(
                StudyClip.study_id == study_id, StudyClip.purpose == "trial"
            )
        ).all()
    assigned = {(a.participant_id, a.clip_id) for a in assignments}
    pairs = Counter((r.participant_id, r.clip_id) for r in ratings)
    rated = set(pairs)
    finished = {pid for pid, p in participants.items() if p.status == "finished"}
    lost = sum(1 for pair in assigned if pair[0] in finished and pair not in rated)
    duplicated = sum(n - 1 for n in pairs.values()) + abs(rating_events - len(ratings))
    crossed = sum(
        1
        for r in ratings
        if (r.participant_id, r.clip_id) not in assigned
        or not _signature_matches(
            r, participants[r.participant_id].external_ids.get("PROLIFIC_PID", "")
        )
    )
    unreported = 0
    if run is not None:
        by_label = {p.external_ids.get("PROLIFIC_PID"): pid for pid, p in participants.items()}
        for number, clips in run.created.items():
            pid = by_label.get(f"{LOAD_PREFIX}{number}")
            unreported += sum(1 for clip in clips if (pid, clip) not in rated)
    exposure = Counter(a.clip_id for a in assignments if not a.is_training)
    counts = [exposure.get(clip, 0) for clip in trial_clips]
    return Audit(
        participants=len(participants),
        ratings=len(ratings),
        lost=lost,
        duplicated=duplicated,
        crossed=crossed,
        unreported=unreported,
        exposure_spread=max(counts) - min(counts) if counts else 0,
    )


# Submit → next clip on screen, timed inside the page: the click on "Submit rating" starts
# the clock, the first DOM change that puts the awaited heading on the page stops it. Every
# message from the server on Streamlit's WebSocket is stamped (and counted, with its bytes), so
# each timing splits into the wait for the server (click → its last message before the heading
# showed: the script run, the database write and the transfer) and the browser's own work after
# it (rendering), and says how much the server sent for it.
_TIMING_SCRIPT = """
window.__drumevalTimings = [];
window.__drumevalNext = null;
let clickedAt = null;
let lastMessageAt = null;
let messages = 0;
let messageBytes = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (event) => {
      lastMessageAt = performance.now();
      messages += 1;
      const data = event.data;
      messageBytes += data.byteLength ?? data.size ?? data.length ?? 0;
    });
  }
};
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('button');
  if (button && button.innerText.includes('Submit rating') && window.__drumevalNext) {
    clickedAt = performance.now();
    lastMessageAt = null;
    messages = 0;
    messageBytes = 0;
  }
}, true);
new MutationObserver(() => {
  if (clickedAt === null || !window.__drumevalNext) return;
  const xpath = `//*[normalize-space(text())="${window.__drumevalNext}"]`;
  const found = document.evaluate(
    xpath, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
  if (found) {
    const now = performance.now();
    window.__drumevalTimings.push({
      total: (now - clickedAt) / 1000,
      answered: ((lastMessageAt === null ? now : lastMessageAt) - clickedAt) / 1000,
      messages,
      bytes: messageBytes,
    });
    clickedAt = null;
    window.__drumevalNext = null;
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


@dataclass(frozen=True)
class SubmitTiming:
    """One submit in Chromium: click → next clip shown, and the part spent on the server."""

    total_s: float
    answered_s: float  # click → the server's last message before the next clip showed
    messages: int = 0  # WebSocket messages from the server in that time
    message_bytes: int = 0

    @property
    def rendering_s(self) -> float:
        """The browser's own work after the server's answer had arrived."""
        return self.total_s - self.answered_s


def clip_headings(total: int) -> list[str]:
    return ["Practice clip", *(f"Clip {number} of {total}" for number in range(1, total + 1))]


def browser_session(
    base_url: str, engine, number: int, *, total: int, route: str | None = None
) -> list[SubmitTiming]:
    """One person takes the study "tiny" in their own Chromium; each submit's timing.

    Its own Playwright and browser, so that sessions can run in parallel threads.
    """
    from playwright.sync_api import sync_playwright

    from deploy.app_server import CHROMIUM, CHROMIUM_ARGS
    from deploy.browser_evaluator import WAIT_MS, consent_and_screen, rate_current_clip
    from deploy.replicas import ROUTE_COOKIE

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            if route:
                context.add_cookies([{"name": ROUTE_COOKIE, "value": route, "url": base_url}])
            context.add_init_script(_TIMING_SCRIPT)
            page = context.new_page()
            page.goto(
                f"{base_url}/study?s=tiny&PROLIFIC_PID={BROWSER_PREFIX}{number}", timeout=WAIT_MS
            )
            consent_and_screen(page, engine)
            page.get_by_role("button", name="Start with the practice clip").click()
            headings = clip_headings(total)
            for heading, following in zip(headings, [*headings[1:], None], strict=True):
                page.evaluate("next => { window.__drumevalNext = next; }", following)
                rate_current_clip(page, heading)
            page.get_by_text("Thank you!").wait_for(timeout=WAIT_MS)
            return [
                SubmitTiming(
                    timing["total"], timing["answered"], timing["messages"], timing["bytes"]
                )
                for timing in page.evaluate("() => window.__drumevalTimings")
            ]
        finally:
            browser.close()


def summary(seconds: list[float]) -> str:
    if not seconds:
        return "no samples"
    return (
        f"p50 {statistics.median(seconds) * 1000:.0f} ms, "
        f"p95 {percentile(seconds, 0.95) * 1000:.0f} ms (n={len(seconds)})"
    )


# --- where one submit's server time goes: the study page's script runs, in-process ---------


@dataclass
class ScriptRunCost:
    """One script run of the study page (`pages/study.py`), measured inside the process."""

    cause: str  # what the browser did: "submit", "player report", "answer"
    wall_s: float = 0.0  # the page script's execution (Streamlit's compile is cached in a server)
    cpu_s: float = 0.0  # CPU time of the script thread: what a run costs a busy core
    flow_s: dict[str, float] = field(default_factory=dict)  # inside each `flow` call
    statements: int = 0  # SQL statements sent
    deltas: int = 0  # elements (deltas) sent to the browser
    message_bytes: int = 0  # all messages of the run, serialized


class _ScriptRunMeter:
    """Hooks that time the page script, its `flow` calls, its SQL and its messages (AppTest)."""

    def __init__(self) -> None:
        self.current: ScriptRunCost | None = None
        self._depth = 0

    def patches(self) -> list:
        import inspect
        from unittest import mock

        from streamlit.runtime.scriptrunner import script_runner
        from streamlit.testing.v1.local_script_runner import LocalScriptRunner

        execute, forward_msgs = (
            script_runner.exec_func_with_error_handling,
            LocalScriptRunner.forward_msgs,
        )
        meter = self

        def timed_exec(*args, **kwargs):
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return execute(*args, **kwargs)
            finally:
                if meter.current is not None:
                    meter.current.wall_s += time.perf_counter() - started
                    meter.current.cpu_s += time.thread_time() - cpu

        def counted_msgs(runner):
            messages = forward_msgs(runner)
            if meter.current is not None:
                meter.current.deltas = sum(message.HasField("delta") for message in messages)
                meter.current.message_bytes = sum(message.ByteSize() for message in messages)
            return messages

        functions = [
            (name, function)
            for name, function in vars(flow).items()
            if inspect.isfunction(function) and function.__module__ == flow.__name__
        ]
        return [
            mock.patch.object(script_runner, "exec_func_with_error_handling", timed_exec),
            mock.patch.object(LocalScriptRunner, "forward_msgs", counted_msgs),
            *(mock.patch.object(flow, name, self._timed(name, f)) for name, f in functions),
        ]

    def _timed(self, name: str, function):
        """`function`, timed when called from the page (not when one flow call makes another)."""

        @functools.wraps(function)
        def timed(*args, **kwargs):
            if self.current is None or self._depth:
                return function(*args, **kwargs)
            self._depth += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                spent = time.perf_counter() - started
                self.current.flow_s[name] = self.current.flow_s.get(name, 0.0) + spent

        return timed

    def count_statement(self, *_args) -> None:
        if self.current is not None:
            self.current.statements += 1


def study_page_costs(slug: str = "tiny", *, clips: int = CLIPS_FOR_COSTS) -> list[ScriptRunCost]:
    """One evaluator takes study `slug` (no headphone check) through the study page in
    `streamlit.testing`; the cost of each script run that rating `clips` clips causes.

    Per clip the browser reruns the page when the player reports the clip heard, once per
    answer ticked, and once for "Submit rating", which writes the rating and shows the next
    clip in the same run. Needs `DRUMEVAL_HOME` / `DATABASE_URL` set to the study's database.
    """
    from contextlib import ExitStack

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from streamlit.testing.v1 import AppTest

    from drumeval.paths import REPO_ROOT

    meter = _ScriptRunMeter()
    costs: list[ScriptRunCost] = []
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "study.py"), default_timeout=60)
    app.query_params["s"] = slug

    def run(cause: str | None) -> None:
        meter.current = ScriptRunCost(cause) if cause else None
        app.run()
        if app.exception:
            raise RuntimeError(f"the study page failed: {app.exception[0].value}")
        if meter.current is not None:
            costs.append(meter.current)

    with ExitStack() as stack:
        for patch in meter.patches():
            stack.enter_context(patch)
        event.listen(Engine, "before_cursor_execute", meter.count_statement)
        stack.callback(event.remove, Engine, "before_cursor_execute", meter.count_statement)
        run(None)
        _click(app, "I agree")
        run(None)
        for radio in app.radio:
            radio.set_value(radio.options[0])
        _click(app, "Continue")
        run(None)
        _click(app, "Start")
        run(None)
        for position in range(clips):
            clip = f"player:{position}"
            app.session_state[clip] = {
                "progress": {"token": str(position), "heard_seconds": 600, "plays": 1,
                             "seeks": 0, "ended": True}
            }  # fmt: skip
            run("player report")
            for index in range(len(app.radio)):  # each run builds a new tree of widgets
                app.radio[index].set_value(_browser_answer(app.radio[index]))
                run("answer")
            _click(app, "Submit rating")
            run("submit")
    return costs


def _click(app, label_start: str) -> None:
    next(button for button in app.button if button.label.startswith(label_start)).click()


def _browser_answer(radio) -> object:
    """The browser evaluator's answer to one question of the thesis's form."""
    if radio.label in {criterion.label for criterion in content.CRITERIA}:
        return BROWSER_SCORE
    if radio.label == content.GENRE_QUESTION:
        return BROWSER_GENRE
    return BROWSER_CONFIDENCE


# --- the same on a running server: every script run, logged by a hook in the app process ----

RUN_LOG_ENV = "DRUMEVAL_SCRIPT_RUN_LOG"


def log_script_runs(path: str) -> None:
    """Append one JSON line per script run of this process to `path`: when the browser's
    request for it arrived, when it started and ended, its CPU time, whether a fragment ran
    and whether a button click caused it (on the rating page: "Submit rating").

    Installed into an app server by `script_run_log()` (Streamlit has no such hook): the
    wait before a run is the session's previous run finishing (one run at a time per
    session) plus the thread getting the interpreter.
    """
    import json

    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    request_rerun, run_script = ScriptRunner.request_rerun, ScriptRunner._run_script
    lock = threading.Lock()

    def requested(runner, rerun_data):
        runner.__dict__.setdefault("_drumeval_requested_at", time.time())
        return request_rerun(runner, rerun_data)

    def run(runner, rerun_data):
        requested_at = runner.__dict__.pop("_drumeval_requested_at", None)
        started, cpu = time.time(), time.thread_time()
        try:
            return run_script(runner, rerun_data)
        finally:
            states = rerun_data.widget_states.widgets if rerun_data.widget_states else ()
            line = {
                "session": runner._session_id,
                "requested": requested_at,
                "started": started,
                "ended": time.time(),
                "cpu": time.thread_time() - cpu,
                "fragment": bool(rerun_data.fragment_id_queue),
                "click": any(state.trigger_value for state in states),
            }
            with lock, open(path, "a") as log:
                log.write(json.dumps(line) + "\n")

    ScriptRunner.request_rerun, ScriptRunner._run_script = requested, run


_SITECUSTOMIZE = """import os, sys
sys.path.insert(0, {repo!r})
from deploy.load import RUN_LOG_ENV, log_script_runs
if os.environ.get(RUN_LOG_ENV):
    log_script_runs(os.environ[RUN_LOG_ENV])
"""


@contextmanager
def script_run_log(directory: Path):
    """App servers started inside log their script runs to the file yielded (through a
    `sitecustomize` on their PYTHONPATH, so that `drumeval.serve` itself stays as shipped)."""
    from drumeval.paths import REPO_ROOT

    (directory / "sitecustomize.py").write_text(_SITECUSTOMIZE.format(repo=str(REPO_ROOT)))
    path = directory / "script-runs.jsonl"
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", RUN_LOG_ENV)}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), saved["PYTHONPATH"]]))
    os.environ[RUN_LOG_ENV] = str(path)
    try:
        yield path
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class ScriptRunLog:
    """The app servers' script runs during a load run, summarised."""

    runs: int
    wall_seconds: float  # first request to last run's end
    queued_s: list[float]  # request → start: behind the session's previous run
    run_s: list[float]  # start → end of each run
    cpu_s: list[float]
    click_run_s: list[float]  # the runs a button click caused ("Submit rating")
    fragment_runs: int

    @classmethod
    def read(cls, path: Path) -> "ScriptRunLog":
        import json

        runs = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        requested = [run["requested"] or run["started"] for run in runs]
        return cls(
            runs=len(runs),
            wall_seconds=(max(run["ended"] for run in runs) - min(requested)) if runs else 0.0,
            queued_s=[run["started"] - at for run, at in zip(runs, requested, strict=True)],
            run_s=[run["ended"] - run["started"] for run in runs],
            cpu_s=[run["cpu"] for run in runs],
            click_run_s=[run["ended"] - run["started"] for run in runs if run["click"]],
            fragment_runs=sum(run["fragment"] for run in runs),
        )


def evaluators_served(p95_by_evaluators: Mapping[int, float], target_s: float) -> int:
    """The capacity a load curve shows: the most simulated evaluators at which the Chromium
    submit → next clip p95 stayed under `target_s`, every lighter load of the curve too
    (0 when even the lightest missed): a bumpy curve does not claim more than it held."""
    served = 0
    for evaluators in sorted(p95_by_evaluators):
        if p95_by_evaluators[evaluators] >= target_s:
            break
        served = evaluators
    return served
