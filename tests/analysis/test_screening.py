"""Post-screening flags exactly the listeners who fail a control, and results come with and
without them."""

import pandas as pd
import pytest

from drumeval.analysis import (
    drop_flagged,
    screen_participants,
    simulate_study,
    table1_with_and_without_flagged,
)
from drumeval.analysis.schema import RATING_COLUMNS
from drumeval.analysis.screening import (
    RULES,
    ScreeningRules,
    listened_seconds_per_participant,
    rule_counts,
)
from drumeval.errors import AnalysisError


def control_ratings() -> pd.DataFrame:
    """Five listeners rate one reference, one anchor and one model clip on realism."""
    scores = {  # participant: (reference, anchor, model)
        "clean": (2, -2, 1),
        "low-ref": (-1, -2, 1),
        "high-anchor": (2, 1, 1),
        "no-phones": (2, -2, 1),
        "skipper": (2, -2, 1),
    }
    rows = []
    for participant, values in scores.items():
        for (clip, model), score in zip(
            [("r", "reference"), ("a", "anchor"), ("m", "music_vae")], values, strict=True
        ):
            rows.append((participant, clip, model, "jazz-soul", 700, "realism", score))
    return pd.DataFrame(
        rows,
        columns=list(RATING_COLUMNS),
    )


PARTICIPANTS = pd.DataFrame(
    {
        "participant_id": ["clean", "low-ref", "high-anchor", "no-phones", "skipper"],
        "headphone_check_passed": [True, True, None, False, True],
        "listened_seconds": [90.0, 90.0, 90.0, 90.0, 12.0],
    }
)


def test_each_check_flags_its_participant_only():
    screening = screen_participants(control_ratings(), PARTICIPANTS).set_index("participant_id")
    assert screening["reasons"].to_dict() == {
        "clean": "",
        "high-anchor": "anchor_high",
        "low-ref": "reference_low",
        "no-phones": "headphone_check_failed",
        "skipper": "did_not_listen",
    }
    assert screening.loc["low-ref", "reference_mean"] == -1
    kept = drop_flagged(control_ratings(), screening.reset_index())
    assert set(kept["participant_id"]) == {"clean"}


def test_limits_are_configurable():
    screening = screen_participants(
        control_ratings(),
        PARTICIPANTS,
        reference_min=-1.5,
        anchor_max=1.0,
        min_listened_seconds=10,
    )
    assert screening.set_index("participant_id")["reasons"].to_dict()["low-ref"] == ""
    assert screening["flagged"].sum() == 1  # only the failed headphone check remains


def test_listening_log_gives_median_seconds_per_clip():
    log = pd.DataFrame(
        {
            "participant_id": ["p", "p", "p", "q"],
            "clip_id": ["a", "a", "b", "a"],
            "seconds": [30.0, 40.0, 10.0, 5.0],
        }
    )
    assert listened_seconds_per_participant(log).to_dict() == {"p": 40.0, "q": 5.0}


def test_simulated_careless_listeners_are_found_and_results_come_both_ways():
    study = simulate_study(20, 1, seed=8, careless_share=0.25)
    screening = screen_participants(study.ratings, study.participants)
    assert 3 <= screening["flagged"].sum() <= 8
    both = table1_with_and_without_flagged(
        study.ratings, study.genre_answers, study.participants, n_resamples=100
    )
    assert set(both["screened"]) == {False, True}
    realism = both[(both["criterion"] == "realism") & (both["model"] == "music_vae")]
    everyone, kept = realism.set_index("screened")["n_participants"].sort_index()
    assert everyone == 20 and kept == 20 - screening["flagged"].sum()


def test_participants_table_needs_its_columns():
    with pytest.raises(AnalysisError, match="headphone_check_passed"):
        screen_participants(control_ratings(), PARTICIPANTS.drop(columns="headphone_check_passed"))


def _ratings(scores: dict[str, list[int]]) -> pd.DataFrame:
    """Each participant's realism (and, equal to it, originality) score of clips c0, c1, …"""
    rows = [
        (participant, f"c{index}", "music_vae", "jazz-soul", 700, criterion, score)
        for participant, values in scores.items()
        for index, score in enumerate(values)
        for criterion in ("realism", "originality")
    ]
    return pd.DataFrame(rows, columns=list(RATING_COLUMNS))


def _people(ids) -> pd.DataFrame:
    return pd.DataFrame(
        {"participant_id": ids, "headphone_check_passed": True, "listened_seconds": 90.0}
    )


def test_a_gold_clip_rated_more_than_one_step_off_its_answer_flags_the_participant():
    ratings = _ratings({"careful": [2, -1, 0], "close": [1, 0, 2], "careless": [1, 2, 0]})
    gold = pd.DataFrame(  # the gold clip must be rated -2 on realism, ±1
        {"participant_id": ["careful", "close", "careless", "careless"], "realism": [-2, -1, 0, 1]}
    )
    screening = screen_participants(ratings, _people(["careful", "close", "careless"]), gold=gold)
    table = screening.set_index("participant_id")
    assert table["gold_missed"].to_dict() == {"careful": 0, "close": 0, "careless": 2}
    assert table["gold_rated"].to_dict() == {"careful": 1, "close": 1, "careless": 2}
    assert table["reasons"].to_dict() == {"careful": "", "close": "", "careless": "gold_missed"}
    assert rule_counts(screening)["gold_missed"] == 1


def test_straight_lining_is_a_score_variance_below_a_tenth():
    ratings = _ratings(
        {"varied": [2, -1, 0, 1], "flat": [1, 1, 1, 1], "almost": [1, 1, 1, 0], "one": [1]}
    )
    screening = screen_participants(ratings, _people(["varied", "flat", "almost", "one"]))
    table = screening.set_index("participant_id")
    assert table.loc["flat", "score_variance"] == 0
    assert table.loc["almost", "score_variance"] == pytest.approx(0.1875)  # var of 1,1,1,0
    assert pd.isna(table.loc["one", "score_variance"])  # one clip cannot tell
    assert table["reasons"].to_dict() == {
        "almost": "",
        "flat": "straight_lining",
        "one": "",
        "varied": "",
    }


def test_a_study_can_switch_rules_off():
    ratings = _ratings({"flat": [1, 1, 1]})
    rules = ScreeningRules(rules=tuple(rule for rule in RULES if rule != "straight_lining"))
    screening = screen_participants(ratings, _people(["flat"]), rules=rules)
    assert not screening["flagged"].any()
    with pytest.raises(AnalysisError, match="unknown screening rule"):
        ScreeningRules(rules=("vibes",))
