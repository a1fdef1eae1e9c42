"""Fuzz worker: feed MIDI files to the reader, the CLI and the upload path, under limits.

Run as `python -m tests.fuzz.worker DIR` in a child process so that a hang or a runaway
allocation cannot take the test run down: the address space is capped with RLIMIT_AS,
each file gets a SIGALRM deadline, and one JSON line per file and path is written to
stdout (a `started` line first, so the parent can name a file that hangs inside C code).

Outcomes: `ok` (a valid result), `error` (a `DrumevalError`, with its class and message),
`crash` (any other exception: a bug, with its traceback), `hang` (deadline passed),
`memory` (MemoryError under the cap), `bad-exit` (the CLI exited with a code other than 0
or 2, or printed more than one error line).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path


class CaseTimeout(BaseException):
    """Raised by SIGALRM: BaseException so no `except Exception` in the code under test eats it."""


def _on_alarm(_signum, _frame) -> None:
    raise CaseTimeout


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def read_with_reader(path: Path) -> dict:
    from drumeval.data.midi import load_drum_track

    track = load_drum_track(path)
    return {"bars": track.num_bars, "hits": list(track.hits_per_class)}


def _run_cli(argv: list[str]) -> dict:
    """The real `drumeval` entry point in-process; stdout/stderr captured."""
    import drumeval.cli as cli

    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
    if code == 2 and len(lines) == 1 and lines[0].startswith("error: "):
        return {"outcome": "error", "error": "exit 2", "message": lines[0].removeprefix("error: ")}
    if code == 0:
        return {}
    raise CliExitError(f"exit code {code}; stderr: {stderr.getvalue()[-2000:]}")


class CliExitError(Exception):
    """The CLI ended neither with success nor with one friendly error line."""


def cli_inspect(path: Path) -> dict:
    return _run_cli(["inspect", str(path)])


def cli_render(path: Path, workdir: Path) -> dict:
    out = workdir / f"{path.stem}.ogg"
    return _run_cli(["render", str(path), "--out", str(out), "--cache-dir", str(workdir / "cache"),
                     "--workers", "1", "--genre", "techno-house"])  # fmt: skip


def upload(path: Path, engine) -> dict:
    """The researcher's upload: `import_midi` takes (file name, bytes) exactly as the page does."""
    from drumeval.study.pool import import_midi

    report = import_midi(
        engine, [(path.name, path.read_bytes())], condition="fuzz", genre="techno-house"
    )
    if report.skipped:
        [(_name, reason)] = report.skipped
        return {"outcome": "error", "error": "skipped", "message": reason}
    return {"imported": len(report.imported)}


def _attempt(action: Callable[[], dict], timeout_s: int) -> dict:
    """Run one path on one file; the CLI and the upload report a refused file in the dict."""
    from drumeval.errors import DrumevalError

    started = time.perf_counter()
    signal.alarm(timeout_s)
    try:
        record = {"outcome": "ok", **action()}
    except CaseTimeout:
        record = {"outcome": "hang"}
    except MemoryError:
        record = {"outcome": "memory"}
    except DrumevalError as error:
        record = {"outcome": "error", "error": type(error).__name__, "message": str(error)}
    except CliExitError as error:
        record = {"outcome": "bad-exit", "message": str(error)}
    except Exception:  # a bug in the code under test: report it, go on with the next file
        record = {"outcome": "crash", "traceback": traceback.format_exc()[-4000:]}
    finally:
        signal.alarm(0)
    record["seconds"] = round(time.perf_counter() - started, 4)
    return record


def _limit_memory(extra_mb: int) -> None:
    """Cap the address space at what the imports already mapped plus `extra_mb`."""
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    limit = mapped + extra_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--timeout-s", type=int, default=10)
    parser.add_argument("--memory-mb", type=int, default=1500)
    parser.add_argument(
        "--renders",
        type=int,
        default=0,
        help="render and upload the first N files the reader accepts (refused files: all)",
    )
    args = parser.parse_args(argv)

    import drumeval.cli
    import drumeval.data.midi
    import drumeval.study.pool  # noqa: F401  (imported before the cap: it is for the files)
    from db.engine import open_database

    signal.signal(signal.SIGALRM, _on_alarm)
    with tempfile.TemporaryDirectory(prefix="drumeval-fuzz-") as work:
        workdir = Path(work)
        engine = open_database(f"sqlite:///{workdir / 'upload.sqlite'}")
        _limit_memory(args.memory_mb)
        renders_left = args.renders
        for path in sorted(args.directory.glob("*.mid")):
            _emit({"case": path.stem, "started": True})
            read = _attempt(lambda path=path: read_with_reader(path), args.timeout_s)
            _emit({"case": path.stem, "path": "reader", **read})
            actions = {"inspect": lambda path=path: cli_inspect(path)}
            if read["outcome"] != "ok" or renders_left > 0:
                renders_left -= read["outcome"] == "ok"
                actions["render"] = lambda path=path: cli_render(path, workdir)
                actions["upload"] = lambda path=path: upload(path, engine)
            for name, action in actions.items():
                _emit({"case": path.stem, "path": name, **_attempt(action, args.timeout_s)})
        engine.dispose()


if __name__ == "__main__":
    main()
