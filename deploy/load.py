"""Many evaluators at once, and the invariants their ratings must keep.

The load driver of `benchmarks/bench_load.py` (long, with figures; `make stress`) and of the
replica test (short). It drives the study "tiny" of `deploy/synthetic_study.py`.
Simulated evaluators go through the same service functions as the pages
(`drumeval.study.flow`), one thread each, all released together at the rating stage; real
Chromium sessions go through the UI (`browser_session`). Every rating carries its author's
signature (scores and comment derived from the evaluator's number; browser evaluators
rate "+" / jazz-soul / 4 without a comment), so a rating stored under the wrong participant
or clip shows up as crossed.
"""

import functools
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from db.engine import transaction
from db.models import Assignment, Event, Participant, Rating, StudyClip
from drumeval.study import content, flow

LOAD_PREFIX = "load-"
BROWSER_PREFIX = "browser-"
BROWSER_SCORE, BROWSER_GENRE, BROWSER_CONFIDENCE = 1, "jazz-soul", 4
ANSWERS = {key: options[0] for key, _, options in content.QUESTIONNAIRE}


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
# message from the server on Streamlit's WebSocket is stamped too, so each timing splits into
# the wait for the server (click → its last message before the heading showed: the script
# run, the database write and the transfer) and the browser's own work after it (rendering).
_TIMING_SCRIPT = """
window.__drumevalTimings = [];
window.__drumevalNext = null;
let clickedAt = null;
let lastMessageAt = null;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', () => { lastMessageAt = performance.now(); });
  }
};
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('button');
  if (button && button.innerText.includes('Submit rating') && window.__drumevalNext) {
    clickedAt = performance.now();
    lastMessageAt = null;
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
                SubmitTiming(timing["total"], timing["answered"])
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
