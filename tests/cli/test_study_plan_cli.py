"""`drumeval study plan --pairwise`: votes for a Bradley–Terry half-width, and its flag errors."""

import pytest

from drumeval.analysis.planning import PairwiseDesign, pairwise_votes_needed
from drumeval.cli import main

SIX_CONDITIONS = PairwiseDesign(n_conditions=6)


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, " ".join(captured.out.split()), captured.err


def test_pairwise_plan_prints_the_planners_votes_and_the_calibration(capsys):
    argv = ["study", "plan", "--pairwise", "--conditions", "6", "--half-width", "80", "--coarse"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    expected = pairwise_votes_needed(80, SIX_CONDITIONS, coarse=True)
    assert f"votes per condition │ {expected.votes_per_condition} │" in out
    assert f"total votes │ {expected.total_votes} │" in out
    assert expected.total_votes == -(-expected.votes_per_condition * 6 // 2)
    assert "Pairwise study, 6 conditions" in out and "±80 Elo" in out
    assert "Music Arena" in out and "±26 Elo at ≈ 830 votes" in out
    tighter = _run([*argv[:-2], "40", "--coarse"], capsys)[1]
    tighter_plan = pairwise_votes_needed(40, SIX_CONDITIONS, coarse=True)
    assert f"{tighter_plan.votes_per_condition}" in tighter


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--conditions", "1", "--half-width", "50"], "--conditions must be at least 2, not 1"),
        (["--half-width", "0"], "--half-width must be a positive number of Elo points, not 0.0"),
        (["--half-width", "nan"], "--half-width must be a positive number of Elo points"),
        ([], "--half-width is required with --pairwise"),
        (["--half-width", "50", "--effect-size", "0.5"], "leave it out with --pairwise"),
    ],
)
def test_pairwise_plan_errors_are_one_line_naming_the_flag(flags, message, capsys):
    code, out, err = _run(["study", "plan", "--pairwise", *flags], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_a_rating_plan_still_needs_its_effect_size(capsys):
    code, _, err = _run(["study", "plan"], capsys)
    assert (
        code == 2
        and err.strip() == "error: --effect-size is required (or --pairwise --half-width ELO)"
    )
