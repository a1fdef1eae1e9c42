"""Load: ≥ 50 simulated evaluators and ≥ 5 real Chromium evaluators at once, per backend.

Run: `.venv/bin/python benchmarks/bench_load.py [--evaluators 50] [--browsers 5]
[--backend sqlite|postgresql|both]` (what `make stress` runs).

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

Then it asserts that the database holds 0 lost, 0 duplicated, 0 crossed ratings and
balanced exposure (per-clip counts differ by ≤ 1). Exit code 1 when an invariant fails;
a missed speed target is printed as MISSED.
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("KERAS_BACKEND", "jax")
from drumeval.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))  # deploy/ is no installed package

from _report import report

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
    label: str, engine, study_id: int, burst, paced, browser_timings, browser_errors
) -> bool:
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
    if browser_timings:
        browser_seconds = [timing.total_s for timing in browser_timings]
        p95 = load.percentile(browser_seconds, 0.95)
        met = "met" if p95 < TARGET_NEXT_CLIP_P95_S else "MISSED"
        print(
            f"Chromium submit → next clip shown: {load.summary(browser_seconds)} "
            f"→ target p95 < 300 ms: {met}\n"
            "  of which waiting for the server (click → its last message before the clip "
            f"showed): {load.summary([timing.answered_s for timing in browser_timings])}\n"
            "  of which the browser's own rendering after that: "
            f"{load.summary([timing.rendering_s for timing in browser_timings])}"
        )
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
    return not errors and not audit.problems()


def bench_sqlite(evaluators: int, browsers: int, niceness: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="drumeval-load-") as home:
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
        ok = _report(label, engine, ids["study_id"], *results)
        engine.dispose()
        return ok


def bench_postgresql(evaluators: int, browsers: int, niceness: int) -> bool:
    from deploy import replicas

    deployment = replicas.start(2)
    try:
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
        ok = _report(label, engine, ids["study_id"], *results)
        engine.dispose()
        return ok
    finally:
        deployment.stop()


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
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M")
    print(
        f"{started}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
        f"(figures on a shared, busy machine are upper bounds); browsers at nice "
        f"{args.browser_nice}"
    )
    ok = True
    if args.backend in ("sqlite", "both"):
        ok &= bench_sqlite(args.evaluators, args.browsers, args.browser_nice)
    if args.backend in ("postgresql", "both"):
        ok &= bench_postgresql(args.evaluators, args.browsers, args.browser_nice)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
