"""Load: ≥ 50 simulated evaluators and ≥ 5 real Chromium evaluators at once, per backend.

Run: `.venv/bin/python benchmarks/bench_load.py [--evaluators 50] [--browsers 5]
[--backend sqlite|postgresql|both] [--curve]` (`make stress`: 100 evaluators; `make bench`
adds `--curve`: the same Chromium p95 beside 10, 25, 50 and 100 simulated evaluators, and the
most evaluators served within the target, per backend — when a study needs replicas).

- SQLite: one app process (`python -m drumeval.serve`) and the simulated evaluators share
  one SQLite file, as a one-machine study does.
- PostgreSQL: the scale-out deployment (`deploy/replicas.py`): two replicas behind nginx;
  the browsers come in through the proxy, spread over both replicas by the affinity cookie.

Simulated evaluators go through the same service functions as the pages (`drumeval.study.flow`),
one thread each, in rounds of `--evaluators` released together: one burst, then steady
rounds until every browser has finished. Figures, beside the targets of issue 19:

- ratings/s: a first round of evaluators submitting without pauses (throughput; their
  latency is mostly queueing behind each other);
- submit latency p50/p95 in the following steady rounds, whose evaluators pause a seeded
  ~5 s before each rating (`flow.submit_rating`: the rating's database transaction, with
  the wait for a pooled connection; target p95 < 100 ms);
- submit → next clip shown in Chromium (click on "Submit rating" until the next clip's
  heading is in the page, timed inside the page; target p95 < 300 ms), split into the wait
  for the server (click → the server's last WebSocket message before the heading showed)
  and the browser's own rendering after it.

The Chromium sessions stand in for participants, whose browsers run on their own machines: by
default they run at `nice 19` (`--browser-nice`), so that on a small machine the app and the
simulated evaluators get the cores first, as they would with real clients elsewhere.
`--browser-nice 0` lets them compete for the cores on equal terms (figures of a machine that
serves and plays five clients at once).

Where the server's part goes: first the study page's own cost per script run, in-process
(`load.study_page_costs`); then, per load run, every script run of the app server(s), logged by
a hook (`load.script_run_log`: CPU, run time, wait behind the session's previous run), and the
WebSocket messages and bytes per Chromium submit (docs/benchmarks.md, issue 31).

Then it asserts that the database holds 0 lost, 0 duplicated, 0 crossed ratings and
balanced exposure (per-clip counts differ by ≤ 1). Exit code 1 when an invariant fails;
a missed speed target is printed as MISSED.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
from drumeval.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))  # deploy/ is no installed package

from _report import report as _report_row

from db.engine import make_engine, open_database
from deploy import load
from deploy.app_server import AppServer
from drumeval.study.synthetic import make_study

TARGET_SUBMIT_P95_S = 0.100
TARGET_NEXT_CLIP_P95_S = 0.300
CLIPS_PER_PARTICIPANT = 6
CLIPS_PER_CONDITION = 4  # 4 conditions → 16 clips in the pool
# Mean pause before each simulated rating in the steady rounds: 50 evaluators offer 10
# ratings/s, 25× what 50 people listening to 2-minute clips submit.
THINK_SECONDS = 5.0
# Capacity wanted: 10× the 0.42 ratings/s that 50 people rating 2-minute clips submit.
TARGET_RATINGS_PER_S = 4.2
# The capacity curve's loads, and the one a one-machine study should serve (issue 31).
CURVE_EVALUATORS = (10, 25, 50, 100)
CURVE_TARGET_EVALUATORS = 50


def _browser(
    base_url: str, database_url: str, number: int, route: str | None, niceness: int
) -> list[load.SubmitTiming]:
    """One Chromium evaluator, in its own process: the simulated evaluators' threads and
    the browser drivers would otherwise share one interpreter lock and slow each other.
    Chromium and Playwright's driver inherit the process's `niceness`."""
    os.nice(niceness)
    engine = make_engine(database_url)
    try:
        return load.browser_session(
            base_url, engine, number, total=CLIPS_PER_PARTICIPANT, route=route
        )
    finally:
        engine.dispose()


def _drive(
    engine, base_url: str, evaluators: int, routes: list[str | None], niceness: int
) -> tuple:
    """Browsers in processes, and rounds of simulated evaluators until they are done."""
    pool = ProcessPoolExecutor(len(routes), mp_context=multiprocessing.get_context("spawn"))
    database_url = engine.url.render_as_string(hide_password=False)
    futures = [
        pool.submit(_browser, base_url, database_url, number, route, niceness)
        for number, route in enumerate(routes)
    ]
    burst = load.run_evaluators(engine, "tiny", evaluators)
    paced = []
    while not paced or not all(future.done() for future in futures):
        offset = (len(paced) + 1) * evaluators
        paced.append(
            load.run_evaluators(
                engine, "tiny", evaluators, offset=offset, think_seconds=THINK_SECONDS
            )
        )
    browser_timings, browser_errors = [], []
    for number, future in enumerate(futures):
        try:
            browser_timings.extend(future.result())
        except Exception as error:
            browser_errors.append(f"browser {number}: {error!r}")
    pool.shutdown()
    return burst, paced, browser_timings, browser_errors


def _report(
    label: str,
    engine,
    study_id: int,
    script_runs: load.ScriptRunLog,
    burst,
    paced,
    browser_timings,
    browser_errors,
    *,
    rows: bool = True,
) -> tuple[bool, float | None]:
    """Print and report one load run's figures (`rows`: also as `BENCH` rows; a capacity
    curve's runs report only their curve point); whether its invariants held, and the
    Chromium submit → next clip p95 (None without browsers)."""
    report = _report_row if rows else _print_only
    runs = [burst, *paced]
    errors = [e for run in runs for e in run.errors] + browser_errors
    audit = load.audit(engine, study_id)
    print(f"\n== {label} ==")
    print(
        f"burst, {burst.evaluators} simulated evaluators without pauses: {burst.ratings} ratings "
        f"in {burst.wall_seconds:.1f} s = {burst.ratings / burst.wall_seconds:.1f} ratings/s; "
        f"submit {load.summary(burst.submit_seconds)} (mostly queueing)"
    )
    submits = [s for run in paced for s in run.submit_seconds]
    p95 = load.percentile(submits, 0.95)
    met = "met" if p95 < TARGET_SUBMIT_P95_S else "MISSED"
    print(
        f"steady, {len(paced)} round(s) of {burst.evaluators} evaluators pausing "
        f"~{THINK_SECONDS:.0f} s per clip ({burst.evaluators / THINK_SECONDS:.1f} ratings/s "
        f"offered), beside the browsers: submit (database write) {load.summary(submits)} "
        f"→ target p95 < 100 ms: {met}"
    )
    print(f"double submits answered 'already stored': {sum(r.repeats for r in runs)}")
    throughput = burst.ratings / burst.wall_seconds
    report(
        f"{label}: ratings/s, {burst.evaluators} evaluators without pauses",
        throughput,
        f"≥ {TARGET_RATINGS_PER_S}",
        "ratings/s",
        throughput >= TARGET_RATINGS_PER_S,
    )
    report(
        f"{label}: submit (database write) p95 at {burst.evaluators / THINK_SECONDS:.1f} ratings/s",
        p95 * 1000,
        f"< {TARGET_SUBMIT_P95_S * 1000:.0f}",
        "ms",
        p95 < TARGET_SUBMIT_P95_S,
    )
    next_clip_p95 = None
    if browser_timings:
        browser_seconds = [timing.total_s for timing in browser_timings]
        p95 = next_clip_p95 = load.percentile(browser_seconds, 0.95)
        met = "met" if p95 < TARGET_NEXT_CLIP_P95_S else "MISSED"
        print(
            f"Chromium submit → next clip shown: {load.summary(browser_seconds)} "
            f"→ target p95 < 300 ms: {met}\n"
            "  of which waiting for the server (click → its last message before the clip "
            f"showed): {load.summary([timing.answered_s for timing in browser_timings])}\n"
            "  of which the browser's own rendering after that: "
            f"{load.summary([timing.rendering_s for timing in browser_timings])}\n"
            "  sent by the server per submit: "
            f"{statistics.median(timing.messages for timing in browser_timings):.0f} WebSocket "
            f"messages, {statistics.median(t.message_bytes for t in browser_timings) / 1024:.1f} "
            "KiB (median)"
        )
        _print_script_runs(script_runs)
        report(
            f"{label}: Chromium submit → next clip shown p95",
            p95 * 1000,
            f"< {TARGET_NEXT_CLIP_P95_S * 1000:.0f}",
            "ms",
            p95 < TARGET_NEXT_CLIP_P95_S,
        )
    print(
        f"database: {audit.participants} participants, {audit.ratings} ratings; lost "
        f"{audit.lost}, duplicated {audit.duplicated}, crossed {audit.crossed}, "
        f"unreported {audit.unreported}, exposure spread {audit.exposure_spread}"
    )
    wrong = audit.lost + audit.duplicated + audit.crossed + audit.unreported
    report(f"{label}: lost + duplicated + crossed ratings", wrong, "= 0", "ratings", wrong == 0)
    report(
        f"{label}: exposure spread between clips",
        audit.exposure_spread,
        "≤ 1",
        "assignments",
        audit.exposure_spread <= 1,
    )
    for error in errors:
        print(f"ERROR {error}")
    return not errors and not audit.problems(), next_clip_p95


def _print_only(*_figure) -> None:
    """A curve run's figure, already printed in words."""


def _print_script_runs(script_runs: load.ScriptRunLog) -> None:
    """Where the server's part of the wait goes: every script run of the app process(es)."""
    if not script_runs.runs:
        return
    rate = script_runs.runs / script_runs.wall_seconds
    print(
        f"  app server: {script_runs.runs} script runs ({rate:.1f}/s, "
        f"{script_runs.fragment_runs} of a fragment only); per run: CPU "
        f"{load.summary(script_runs.cpu_s)}, start → end {load.summary(script_runs.run_s)}, "
        f"request → start (behind the session's previous run) "
        f"{load.summary(script_runs.queued_s)}; runs after a click (submits) "
        f"{load.summary(script_runs.click_run_s)}"
    )


def bench_sqlite(
    evaluators: int, browsers: int, niceness: int, *, rows: bool = True
) -> tuple[bool, float | None]:
    with (
        tempfile.TemporaryDirectory(prefix="drumeval-load-") as home,
        load.script_run_log(Path(home)) as run_log,
    ):
        os.environ["DRUMEVAL_HOME"] = home
        os.environ.pop("DATABASE_URL", None)
        engine = open_database()
        ids = make_study(
            engine,
            clips_per_participant=CLIPS_PER_PARTICIPANT,
            clips_per_condition=CLIPS_PER_CONDITION,
        )
        server = AppServer(env={"DRUMEVAL_HOME": home, "DATABASE_URL": ""}).start()
        try:
            results = _drive(engine, server.url, evaluators, [None] * browsers, niceness)
        finally:
            server.stop()
        label = f"SQLite, one app process, browsers at nice {niceness}"
        outcome = _report(
            label, engine, ids["study_id"], load.ScriptRunLog.read(run_log), *results, rows=rows
        )
        engine.dispose()
        return outcome


def bench_postgresql(
    evaluators: int, browsers: int, niceness: int, *, rows: bool = True
) -> tuple[bool, float | None]:
    from deploy import replicas

    with tempfile.TemporaryDirectory(prefix="drumeval-runs-") as logs:
        with load.script_run_log(Path(logs)) as run_log:
            deployment = replicas.start(2)
        try:
            return _bench_deployment(deployment, evaluators, browsers, niceness, run_log, rows)
        finally:
            deployment.stop()


def _bench_deployment(
    deployment, evaluators: int, browsers: int, niceness: int, run_log: Path, rows: bool
) -> tuple[bool, float | None]:
    """The load run of `bench_postgresql` on a started deployment."""
    os.environ["DRUMEVAL_HOME"] = deployment.env["DRUMEVAL_HOME"]
    engine = make_engine(deployment.database_url)
    ids = make_study(
        engine,
        clips_per_participant=CLIPS_PER_PARTICIPANT,
        clips_per_condition=CLIPS_PER_CONDITION,
    )
    routes = deployment.routes_per_replica()
    results = _drive(
        engine,
        deployment.url,
        evaluators,
        [routes[n % 2] for n in range(browsers)],
        niceness,
    )
    label = f"PostgreSQL, 2 replicas behind nginx, browsers at nice {niceness}"
    outcome = _report(
        label, engine, ids["study_id"], load.ScriptRunLog.read(run_log), *results, rows=rows
    )
    engine.dispose()
    return outcome


def _study_page_costs() -> list[load.ScriptRunCost]:
    """`load.study_page_costs` on a fresh study "tiny" without headphone check."""
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # bare-mode warnings
    with tempfile.TemporaryDirectory(prefix="drumeval-costs-") as home:
        os.environ["DRUMEVAL_HOME"] = home
        os.environ.pop("DATABASE_URL", None)
        engine = open_database()
        make_study(engine, headphone_check=False, clips_per_participant=CLIPS_PER_PARTICIPANT)
        try:
            return load.study_page_costs(clips=CLIPS_PER_PARTICIPANT)
        finally:
            engine.dispose()


def page_costs() -> None:
    """The study page's own cost per script run, in-process (`load.study_page_costs`): what
    one submit, one answer and one player report make the server do, without any load.

    In a process of its own: `streamlit.testing` leaves the page as `__main__`, which the
    browsers' spawned processes would then run."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        costs = pool.submit(_study_page_costs).result()
    print("\nstudy page, one evaluator in-process (streamlit.testing), median per script run:")
    for cause in ("submit", "answer", "player report"):
        runs = [cost for cost in costs if cost.cause == cause]
        flow_ms = {
            name: statistics.median(run.flow_s.get(name, 0.0) for run in runs) * 1000
            for name in sorted({name for run in runs for name in run.flow_s})
        }
        print(
            f"  {cause} (n={len(runs)}): script {_median_ms(r.wall_s for r in runs)} ms, "
            f"CPU {_median_ms(r.cpu_s for r in runs)} ms, "
            f"{statistics.median(r.statements for r in runs):.0f} SQL statements, "
            f"{statistics.median(r.deltas for r in runs):.0f} elements sent "
            f"({statistics.median(r.message_bytes for r in runs) / 1024:.1f} KiB); in flow: "
            + ", ".join(f"{name} {ms:.1f} ms" for name, ms in flow_ms.items() if ms >= 0.05)
        )


def _median_ms(seconds) -> str:
    return f"{statistics.median(seconds) * 1000:.1f}"


BENCHES = {"sqlite": bench_sqlite, "postgresql": bench_postgresql}
BACKEND_LABELS = {"sqlite": "SQLite, one app process", "postgresql": "PostgreSQL, 2 replicas"}


def capacity_curve(
    backend: str, browsers: int, niceness: int, measured: dict[int, float | None]
) -> bool:
    """Chromium submit → next clip p95 beside 10, 25, 50 and 100 simulated evaluators, and the
    most of them served within the target: when a study needs replicas (docs/deployment.md).
    `measured`: p95s of this backend's runs already made (by evaluators), not run again."""
    ok, p95s = True, {}
    label = BACKEND_LABELS[backend]
    for evaluators in CURVE_EVALUATORS:
        if evaluators in measured:
            p95 = measured[evaluators]
        else:
            print(f"\n--- capacity curve, {label}: {evaluators} simulated + {browsers} Chromium")
            run_ok, p95 = BENCHES[backend](evaluators, browsers, niceness, rows=False)
            ok &= run_ok
        if p95 is None:
            continue
        p95s[evaluators] = p95
        _report_row(
            f"Capacity, {label}: submit → next clip p95 beside {evaluators} evaluators",
            p95 * 1000,
            f"< {TARGET_NEXT_CLIP_P95_S * 1000:.0f}",
            "ms",
            p95 < TARGET_NEXT_CLIP_P95_S,
        )
    most = load.evaluators_served(p95s, TARGET_NEXT_CLIP_P95_S)
    _report_row(
        f"Capacity, {label}: evaluators served at submit → next clip p95 < "
        f"{TARGET_NEXT_CLIP_P95_S * 1000:.0f} ms",
        most,
        f"≥ {CURVE_TARGET_EVALUATORS}",
        "evaluators",
        most >= CURVE_TARGET_EVALUATORS,
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluators", type=int, default=50)
    parser.add_argument("--browsers", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--browser-nice",
        type=int,
        choices=range(20),
        default=19,
        metavar="0-19",
        help="niceness of the Chromium sessions (default 19: clients yield the cores to the "
        "server, as on their own machines; 0: they compete on equal terms)",
    )
    parser.add_argument(
        "--curve",
        action="store_true",
        help=f"then the capacity curve: {', '.join(map(str, CURVE_EVALUATORS))} simulated "
        "evaluators beside the browsers, one run each (what `make bench` adds)",
    )
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M")
    print(
        f"{started}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
        f"(figures on a shared, busy machine are upper bounds); browsers at nice "
        f"{args.browser_nice}"
    )
    page_costs()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    ok, measured = True, {}
    for backend in backends:
        run_ok, p95 = BENCHES[backend](args.evaluators, args.browsers, args.browser_nice)
        ok &= run_ok
        measured[backend] = {args.evaluators: p95}
    if args.curve:
        for backend in backends:
            ok &= capacity_curve(backend, args.browsers, args.browser_nice, measured[backend])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
