"""Seeded fuzz of every MIDI entry point: a clear error or a valid result, nothing else.

Hundreds of files mutated from valid ones go through the reader, `drumeval inspect`,
`drumeval render` and the researcher's upload (`import_midi`) in a child process with a
per-file deadline and a memory cap (see `worker.py`). `make test` runs 200 files;
`make stress` sets DRUMEVAL_FUZZ_CASES=5000 (and more renders). A failure names the case:
`make_cases(count, seed=…)` rebuilds it byte for byte.
"""

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.mutations import HOSTILE_FILES, make_cases

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES = int(os.environ.get("DRUMEVAL_FUZZ_CASES", "200"))
RENDERS = int(os.environ.get("DRUMEVAL_FUZZ_RENDERS", "3"))
SEED = int(os.environ.get("DRUMEVAL_FUZZ_SEED", "0"))
TIMEOUT_S = 20  # per file and path; a render of an accepted file takes ~1 s


def _environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DRUMEVAL_HOME": str(tmp_path / "home"), "KERAS_BACKEND": "jax",
            "TF_CPP_MIN_LOG_LEVEL": "3"}  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory) -> tuple[dict[str, dict[str, dict]], Path]:
    """{case: {path: record}} from one worker run over CASES mutated files."""
    tmp_path = tmp_path_factory.mktemp("fuzz")
    folder = tmp_path / "files"
    folder.mkdir()
    for case in make_cases(CASES, seed=SEED):
        (folder / f"{case.name}.mid").write_bytes(case.data)
    for name, make in HOSTILE_FILES:
        (folder / f"{name}.mid").write_bytes(make())
    command = [sys.executable, "-m", "tests.fuzz.worker", str(folder), "--timeout-s",
               str(TIMEOUT_S), "--renders", str(RENDERS)]  # fmt: skip
    budget_s = 120 + CASES * 2
    try:
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=_environment(tmp_path), capture_output=True, text=True,
            timeout=budget_s, check=False,
        )  # fmt: skip
        stdout, returncode, stderr = result.stdout, result.returncode, result.stderr
    except subprocess.TimeoutExpired as expired:
        stdout, returncode, stderr = (expired.stdout or b"").decode(), "timeout", ""
    records: dict[str, dict[str, dict]] = collections.defaultdict(dict)
    last_started = None
    for line in stdout.splitlines():
        record = json.loads(line)
        if record.get("started"):
            last_started = record["case"]
        else:
            records[record["case"]][record["path"]] = record
    assert returncode == 0, (
        f"worker ended with {returncode} while on case {last_started!r} (a hang or crash "
        f"inside native code); stderr: {stderr[-3000:]}"
    )
    return dict(records), folder


def test_every_file_gets_a_result_or_a_clear_error_on_every_path(fuzz_run):
    records, _folder = fuzz_run
    assert len(records) == CASES + len(HOSTILE_FILES)
    bad = [
        f"{case} [{path}] {record['outcome']}: "
        f"{record.get('traceback') or record.get('message', '')}"
        for case, paths in records.items()
        for path, record in paths.items()
        if record["outcome"] not in ("ok", "error")
    ]
    assert not bad, "\n".join(bad[:5])
    for paths in records.values():
        for record in paths.values():
            if record["outcome"] == "error":
                message = record["message"]
                assert message.strip() and "\n" not in message and "Traceback" not in message


def test_the_fuzz_reaches_both_outcomes_and_many_distinct_checks(fuzz_run):
    """Guards the fuzzer itself: all-refused or all-accepted files would prove little."""
    records, _folder = fuzz_run
    outcomes = collections.Counter(paths["reader"]["outcome"] for paths in records.values())
    assert outcomes["ok"] >= CASES // 50 and outcomes["error"] >= CASES // 2, outcomes
    reasons = {paths["reader"]["message"].split(" (")[0][:30] for paths in records.values()
               if paths["reader"]["outcome"] == "error"}  # fmt: skip
    assert len(reasons) >= 15, reasons
    rendered = [p for p in records.values() if "render" in p and p["reader"]["outcome"] == "ok"]
    assert len(rendered) == min(RENDERS, outcomes["ok"])


def test_hostile_files_are_read_in_time_or_refused_by_a_limit(fuzz_run):
    """Tempo storms were quadratic (one tempo-map walk per note); event floods are capped."""
    records, _folder = fuzz_run
    storm = records["hostile-tempo_storm"]["reader"]
    assert storm["outcome"] == "ok" and storm["hits"][0] > 0, storm
    assert records["hostile-note_on_pileup"]["reader"]["outcome"] == "ok"
    flood = records["hostile-event_flood"]["reader"]
    assert flood["error"] == "FileTooLargeError" and "500,000 MIDI events" in flood["message"]


def test_cli_and_upload_agree_with_the_reader(fuzz_run):
    """A file the reader refuses is refused by inspect and upload with the same reason.

    `render` needs a readable file, not 4/4 drums: it may play a file in 7/8, so it has to
    agree only when the file itself is bad (`InvalidMidiError` and its `FileTooLargeError`).
    """
    records, _folder = fuzz_run
    file_errors = ("InvalidMidiError", "FileTooLargeError")
    for case, paths in records.items():
        reader = paths["reader"]
        for path in ("inspect", "render", "upload"):
            if path not in paths:
                continue
            record = paths[path]
            must_refuse = path != "render" or reader.get("error") in file_errors
            if reader["outcome"] == "error" and must_refuse:
                assert record["outcome"] == "error", (case, path, record)
                reason = reader["message"].removeprefix(f"{case}.mid: ")  # upload: no name
                assert reason in record["message"], (case, path, record)
            elif reader["outcome"] == "ok" and path == "inspect":
                assert record["outcome"] == "ok", (case, record)


def test_uploaded_and_rendered_accepted_files_give_clips(fuzz_run):
    records, _folder = fuzz_run
    accepted = [p for p in records.values() if "upload" in p and p["reader"]["outcome"] == "ok"]
    assert accepted
    for paths in accepted:
        # Accepted by the reader, a file may still be refused later (say, no drum hit left
        # after quantization), but only with a clear error, never silently.
        assert paths["upload"]["outcome"] == "ok" or paths["upload"]["message"]
        if paths["upload"]["outcome"] == "ok":
            assert paths["upload"]["imported"] == 1


def test_real_cli_process_prints_one_line_not_a_traceback(fuzz_run, tmp_path):
    """Two files through a real `drumeval inspect` process: exit code and stderr as users see."""
    records, folder = fuzz_run
    refused = next(case for case, p in sorted(records.items()) if p["reader"]["outcome"] == "error")
    accepted = next(case for case, p in sorted(records.items()) if p["reader"]["outcome"] == "ok")
    for case, code in ((refused, 2), (accepted, 0)):
        result = subprocess.run(
            [sys.executable, "-m", "drumeval", "inspect", str(folder / f"{case}.mid")],
            cwd=REPO_ROOT, env=_environment(tmp_path), capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr
        if code == 2:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and records[case]["reader"]["message"] in lines[0]
