"""`benchmarks/run_all.py`: RESULTS.md from every script's last run, a subset updating its rows."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import run_all


def _script(folder: Path, name: str, measured: float, *, fail: bool = False) -> None:
    lines = [
        "from _report import report",
        f"report('{name} figure', {measured}, '< 2', 's', {measured} < 2)",
    ]
    if fail:
        lines.append("raise SystemExit('broken on purpose')")
    (folder / f"bench_{name}.py").write_text("\n".join(lines) + "\n")


@pytest.fixture
def bench_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "_report.py").write_text((Path(run_all.__file__).parent / "_report.py").read_text())
    monkeypatch.setattr(run_all, "BENCH_DIR", folder)
    monkeypatch.setattr(run_all, "RESULTS", folder / "RESULTS.md")
    monkeypatch.setattr(run_all, "RUNS", folder / "results.json")
    return folder


def _rows(results: Path) -> dict[str, list[str]]:
    """Table rows of RESULTS.md by their first cell, cells stripped."""
    rows: dict[str, list[str]] = {}
    for line in results.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| bench_"):
            rows.setdefault(cells[0], []).append(" | ".join(cells[1:]))
    return rows


def test_a_subset_run_updates_its_rows_and_keeps_the_others_with_their_date(bench_dir) -> None:
    _script(bench_dir, "a", 1.0)
    _script(bench_dir, "b", 1.5)
    assert run_all.main([]) == 0
    stored = json.loads((bench_dir / "results.json").read_text())
    assert [run["script"] for run in stored["runs"]] == ["bench_a", "bench_b"]
    stored["runs"][0]["started"] = "2000-01-01 00:00"  # as if bench_a ran long ago
    (bench_dir / "results.json").write_text(json.dumps(stored))

    _script(bench_dir, "b", 3.0)
    assert run_all.main(["bench_b"]) == 0
    rows = _rows(bench_dir / "RESULTS.md")
    assert rows["bench_a"][0] == "a figure | 1 | < 2 | s | met"
    assert rows["bench_b"][0] == "b figure | 3 | < 2 | s | **missed**"
    assert rows["bench_a"][1].startswith("2000-01-01 00:00 |")  # kept, with its own date
    assert not rows["bench_b"][1].startswith("2000-")
    assert "Not run this time" not in (bench_dir / "RESULTS.md").read_text()


def test_a_removed_script_drops_out_and_a_failure_keeps_its_output(bench_dir) -> None:
    _script(bench_dir, "a", 1.0)
    _script(bench_dir, "gone", 1.0)
    run_all.main([])
    (bench_dir / "bench_gone.py").unlink()
    _script(bench_dir, "a", 1.0, fail=True)
    assert run_all.main(["bench_a"]) == 1
    text = (bench_dir / "RESULTS.md").read_text()
    assert "bench_gone" not in text
    assert "## bench_a failed" in text and "broken on purpose" in text


def test_an_unreadable_store_is_named_and_only_this_run_is_reported(bench_dir, capsys) -> None:
    _script(bench_dir, "a", 1.0)
    _script(bench_dir, "b", 1.0)
    (bench_dir / "results.json").write_text("{not json")
    assert run_all.main(["bench_a"]) == 0
    assert "ignoring results.json" in capsys.readouterr().out
    rows = _rows(bench_dir / "RESULTS.md")
    assert "bench_b" not in rows
    assert "Not run this time: bench_b" in (bench_dir / "RESULTS.md").read_text()
