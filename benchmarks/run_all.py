"""Run every `benchmarks/bench_*.py` (or the ones named) and write `benchmarks/RESULTS.md`.

`make bench` calls this. Each script runs in its own process, one after the other, so no
two benchmarks share the CPUs; their `BENCH` lines (see `_report.py`) become one table
with the measured figure, the target and whether it was met, under the machine, and each
script's date and load average. A missed target is reported, not fatal; a script that
crashes is reported with the end of its output and makes the run exit 1.

Every script's last run is kept in `benchmarks/results.json`, from which RESULTS.md is
written: running only some scripts updates their rows and keeps the others' with the date
they were measured on.

    python benchmarks/run_all.py                 # all
    python benchmarks/run_all.py bench_startup   # only these; the other rows are kept
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from _report import parse

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
RUNS = BENCH_DIR / "results.json"  # every script's last run, what RESULTS.md is written from
TIMEOUT_S = 3600
OUTPUT_TAIL_LINES = 20  # of a failed script's output, kept for the report
# Options a script gets under `make bench` (run alone it measures its default case).
SCRIPT_OPTIONS = {"bench_load": ["--curve"]}  # + the capacity curve (issue 31)


@dataclass(frozen=True)
class Run:
    script: str
    started: str  # UTC, "YYYY-MM-DD HH:MM"
    load: tuple[float, ...]  # load average (1, 5, 15 min) when the script started
    seconds: float
    returncode: int | str
    figures: tuple[dict[str, str], ...]
    output_tail: str  # the end of a failed script's output ("" when it passed)

    @classmethod
    def from_json(cls, data: dict) -> "Run":
        return cls(
            script=str(data["script"]),
            started=str(data["started"]),
            load=tuple(float(x) for x in data["load"]),
            seconds=float(data["seconds"]),
            returncode=data["returncode"],
            figures=tuple({str(k): str(v) for k, v in f.items()} for f in data["figures"]),
            output_tail=str(data["output_tail"]),
        )


def load_runs(path: Path) -> dict[str, Run]:
    """The scripts' last runs as stored; none (with a note) if the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        return {run.script: run for run in map(Run.from_json, data["runs"])}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"note: ignoring {path.name} ({error}); only this run's figures are reported")
        return {}


def save_runs(runs: dict[str, Run], path: Path) -> None:
    records = [asdict(run) for _, run in sorted(runs.items())]
    path.write_text(json.dumps({"runs": records}, indent=1, ensure_ascii=False) + "\n")


def machine() -> dict[str, str]:
    """CPU model, core count and memory, from /proc where it exists."""
    cpu = platform.processor() or platform.machine()
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    return {"cores (nproc)": str(os.cpu_count()), "CPU": cpu, "RAM": memory,
            "Python": platform.python_version(), "OS": platform.platform()}  # fmt: skip


def run_script(path: Path) -> Run:
    started_at = datetime.datetime.now(datetime.UTC)
    load = tuple(round(x, 2) for x in os.getloadavg())
    started = time.perf_counter()
    try:
        result = subprocess.run([sys.executable, str(path), *SCRIPT_OPTIONS.get(path.stem, [])],
                                cwd=BENCH_DIR.parent,
                                capture_output=True, text=True, timeout=TIMEOUT_S)  # fmt: skip
        output, returncode = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired as expired:
        output, returncode = str(expired.stdout or ""), f"timed out after {TIMEOUT_S} s"
    figures = tuple(f for f in map(parse, output.splitlines()) if f is not None)
    sys.stdout.write(output)
    # Only a failed script's output is reported, so only that is kept in results.json.
    tail = "\n".join(output.strip().splitlines()[-OUTPUT_TAIL_LINES:]) if returncode != 0 else ""
    return Run(path.stem, f"{started_at:%Y-%m-%d %H:%M}", load,
               time.perf_counter() - started, returncode, figures, tail)  # fmt: skip


def render(runs: list[Run], *, written: datetime.datetime, not_run: list[str]) -> str:
    lines = ["# Benchmark results", "",
             f"Written by `make bench` (`benchmarks/run_all.py`) on {written:%Y-%m-%d %H:%M} "
             "UTC. Every figure is measured on the machine below, next to its target; a "
             "missed target is listed as missed. When and under which load each script ran "
             "is in the last table.", "",
             "| machine | |", "|---|---|"]  # fmt: skip
    lines += [f"| {key} | {value} |" for key, value in machine().items()]
    lines += ["", "A load average above the core count means other work shared the CPUs: "
              "speed figures are then pessimistic.", "",
              "| benchmark | figure | measured | target | unit | |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for run in runs:
        if not run.figures:
            lines.append(f"| {run.script} | no figure reported | | | | |")
        for figure in run.figures:
            verdict = "met" if figure["met"] == "met" else "**missed**"
            lines.append(f"| {run.script} | {figure['name']} | {figure['measured']} | "
                         f"{figure['target']} | {figure['unit']} | {verdict} |")  # fmt: skip
    if not_run:
        lines += ["", f"Not run this time: {', '.join(not_run)} (see their scripts' targets)."]
    lines += ["", "| script | run at (UTC) | load average at start (1, 5, 15 min) | wall time "
              "| exit |", "|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {run.script} | {run.started} | {', '.join(f'{x:.2f}' for x in run.load)} | "
              f"{run.seconds:.0f} s | {run.returncode} |" for run in runs]  # fmt: skip
    for run in runs:
        if run.returncode != 0:
            lines += ["", f"## {run.script} failed", "", "```", run.output_tail, "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="bench_* script names (default: all)")
    args = parser.parse_args(argv)
    scripts = all_scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if args.names:
        wanted = {name.removesuffix(".py") for name in args.names}
        unknown = wanted - {script.stem for script in scripts}
        if unknown:
            parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
        scripts = [script for script in scripts if script.stem in wanted]
    kept = load_runs(RUNS)
    runs = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        runs.append(run_script(script))
    current = {script.stem for script in all_scripts}
    merged = {name: run for name, run in kept.items() if name in current}
    merged |= {run.script: run for run in runs}
    save_runs(merged, RUNS)
    not_run = sorted(current - merged.keys())
    ordered = [merged[name] for name in sorted(merged)]
    written = datetime.datetime.now(datetime.UTC)
    RESULTS.write_text(render(ordered, written=written, not_run=not_run))
    print(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)} ({len(runs)} script(s) run now, "
          f"{len(merged) - len(runs)} kept from earlier runs)")  # fmt: skip
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
