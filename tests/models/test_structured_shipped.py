"""The shipped structured checkpoints (issue 33's 'done when'): on fixed seeds and the genre's
preset form, their section changes land on the planned boundaries more often than DrumsRNN's
and MusicVAE's (or they are a listed miss), and they keep the bar line (snare on 2 & 4 rather
than 1 & 3); a repeated section recalls its earlier instance (copy-or-vary) without copying
more from the train split."""

import numpy as np
import pytest

from drumeval.analysis.structure_eval import measure_structure, train_reference
from drumeval.data.corpus import load_corpus
from drumeval.data.forms import FORM_PRESETS
from drumeval.generate import execute, plan_generation
from drumeval.metrics.structure import backbeat_shares, f1_score, planned_boundary_counts
from drumeval.models import structured_sampling
from drumeval.models.checkpoints import read_card
from drumeval.models.structured_steps import load_light
from drumeval.registry import shipped_checkpoints
from drumeval.training.shipping import MAX_SHIPPED_MB

SEEDS = range(4)
SHIPPED = sorted(c.name for c in shipped_checkpoints() if c.model == "structured")
BASELINES = (("drums_rnn", "thesis"), ("music_vae", "thesis-longbar"))
# Shipped structured checkpoints that do not beat the baselines, with the reason (the test
# checks that they still do not, so the list stays true); docs/models.md says the same.
BOUNDARY_MISSES: dict[str, str] = {
    "structured/thesis-form/jazz-soul-1500": "F1 0.22 (copy-or-vary; 0.15 plain) against "
    "DrumsRNN's 0.29 and MusicVAE's 0.30 on seeds 0-3: trained on 8-bar `phrase` forms only, "
    "it has never seen the preset's head/solo/trade labels, and its phrase changes do not "
    "fall on the form's 4-bar offsets",
}


def _checkpoint(name: str):
    return next(c for c in shipped_checkpoints() if c.name == name)


def _tracks(model: str, preset: str, corpus: str, form) -> list:
    length = {"form": form} if model == "structured" else {"bars": form.total_bars}
    plan = plan_generation(model, preset=preset, corpus=corpus, **length)
    return [execute(plan.with_seed(seed))[0].event_ids for seed in SEEDS]


def _planned_f1(tracks: list, form) -> float:
    counts = [planned_boundary_counts(track, form) for track in tracks]
    return f1_score(*(sum(column) for column in zip(*counts, strict=True)))


def test_both_genres_are_shipped_and_most_beat_the_baselines():
    assert {_checkpoint(name).genre for name in SHIPPED} == set(FORM_PRESETS)
    assert set(BOUNDARY_MISSES) < set(SHIPPED)
    assert all(len(reason) > 20 for reason in BOUNDARY_MISSES.values())


@pytest.mark.parametrize("name", SHIPPED)
def test_cards_say_what_was_trained_and_files_are_small(name):
    checkpoint = _checkpoint(name)
    card = read_card(checkpoint.directory)
    assert card["model"] == "structured" and card["corpus"] == checkpoint.corpus
    assert card["initialised_from"]["checkpoint"].endswith(f"drums_rnn/thesis/{checkpoint.corpus}")
    assert card["fidelity"]["settings"]["samples"] == 16
    assert (checkpoint.directory / "model.keras").stat().st_size <= MAX_SHIPPED_MB * 1e6


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_changes_land_on_planned_boundaries_more_often_than_the_baselines(name):
    checkpoint = _checkpoint(name)
    form = next(iter(FORM_PRESETS[checkpoint.genre].values()))
    structured = _tracks("structured", checkpoint.preset, checkpoint.corpus, form)
    f1 = _planned_f1(structured, form)
    baselines = {
        model: _planned_f1(_tracks(model, preset, checkpoint.corpus, form), form)
        for model, preset in BASELINES
    }
    if name in BOUNDARY_MISSES:
        assert f1 <= max(baselines.values()), (f1, baselines)  # still a miss: update the list
    else:
        assert f1 > max(baselines.values()), (f1, baselines)
    on_two_four, on_one_three = (
        sum(shares[i] for shares in map(backbeat_shares, structured)) for i in (0, 1)
    )
    assert on_two_four > on_one_three


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_a_repeat_recalls_its_earlier_section_without_copying_the_corpus(name):
    checkpoint = _checkpoint(name)
    form = next(iter(FORM_PRESETS[checkpoint.genre].values()))
    model, _ = load_light(checkpoint.directory)
    reference = train_reference(*load_corpus(checkpoint.corpus).split("train"))

    def measured(**copy_or_vary) -> dict[str, float]:
        tracks = [
            structured_sampling.sample(model, form=form, seed=seed, **copy_or_vary)[0]
            for seed in SEEDS
        ]
        return measure_structure(tracks, [form] * len(tracks), reference)

    recalled, plain = measured(), measured(copy_strength=0.0, prime_bars=0)
    # closer to its earlier instance than different-label sections are to each other, and
    # closer than without copy-or-vary — but not a copy (the corpus's own repeats: ≈ 0.25)
    assert 1 - recalled["repeat_distance"] > recalled["different_label_sim"], recalled
    assert 0.1 < recalled["repeat_distance"] < plain["repeat_distance"] - 0.1, (recalled, plain)
    assert recalled["same_label_sim"] > plain["same_label_sim"]
    assert recalled["copied_windows"] <= plain["copied_windows"] + 0.02
    assert recalled["novel_bars"] >= plain["novel_bars"] - 0.02
    if checkpoint.genre == "techno-house":
        assert recalled["same_label_sim"] > recalled["different_label_sim"]
        assert recalled["backbeat_2_4"] > 5 * recalled["backbeat_1_3"]
    assert np.isfinite(recalled["groove_distance"])
