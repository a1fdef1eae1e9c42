"""Run every `benchmarks/bench_*.py` (or the ones named) and write `benchmarks/RESULTS.md`.

`make bench` calls this. Each script runs in its own process, one after the other, so no
two benchmarks share the CPUs; their `BENCH` lines (see `_report.py`) become one table
with the measured figure, the target and whether it was met, under the machine, date and
load average the figures were taken with. A missed target is reported, not fatal; a script
that crashes is reported with the end of its output and makes the run exit 1.

    python benchmarks/run_all.py                 # all
    python benchmarks/run_all.py bench_startup   # only these
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _report import parse

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
TIMEOUT_S = 3600


@dataclass(frozen=True)
class Run:
    script: str
    seconds: float
    returncode: int | str
    figures: tuple[dict[str, str], ...]
    output: str


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
    started = time.perf_counter()
    try:
        result = subprocess.run([sys.executable, str(path)], cwd=BENCH_DIR.parent,
                                capture_output=True, text=True, timeout=TIMEOUT_S)  # fmt: skip
        output, returncode = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired as expired:
        output, returncode = str(expired.stdout or ""), f"timed out after {TIMEOUT_S} s"
    figures = tuple(f for f in map(parse, output.splitlines()) if f is not None)
    sys.stdout.write(output)
    return Run(path.stem, time.perf_counter() - started, returncode, figures, output)


def render(
    runs: list[Run], *, started: datetime.datetime, load: tuple[float, ...], not_run: list[str]
) -> str:
    lines = ["# Benchmark results", "",
             f"Written by `make bench` (`benchmarks/run_all.py`) on {started:%Y-%m-%d %H:%M} "
             "UTC. Every figure is measured on the machine below, next to its target; a "
             "missed target is listed as missed.", "",
             "| machine | |", "|---|---|"]  # fmt: skip
    lines += [f"| {key} | {value} |" for key, value in machine().items()]
    lines += [f"| load average at start (1, 5, 15 min) | {', '.join(f'{x:.2f}' for x in load)} |",
              "", "A load average above the core count means other work shared the CPUs: "
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
    lines += ["", "| script | wall time | exit |", "|---|---|---|"]
    lines += [f"| {run.script} | {run.seconds:.0f} s | {run.returncode} |" for run in runs]
    for run in runs:
        if run.returncode != 0:
            tail = "\n".join(run.output.strip().splitlines()[-20:])
            lines += ["", f"## {run.script} failed", "", "```", tail, "```"]
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
    started = datetime.datetime.now(datetime.UTC)
    load = os.getloadavg()
    runs = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        runs.append(run_script(script))
    not_run = [script.stem for script in all_scripts if script not in scripts]
    RESULTS.write_text(render(runs, started=started, load=load, not_run=not_run))
    print(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)}")
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
