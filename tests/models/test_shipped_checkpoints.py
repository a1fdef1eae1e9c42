"""The checkpoints we ship generate 2-minute tracks whose genres differ (fixed seeds)."""

import functools
import re

import numpy as np
import pytest

from drumeval import metrics
from drumeval.generate import CHECKPOINTS_DIR, generate, list_shipped_checkpoints
from drumeval.metrics.magenta_targets import magenta_checks
from drumeval.models.checkpoints import load_checkpoint, read_card
from drumeval.training.fidelity import (
    FIDELITY_SAMPLES,
    FIDELITY_SEED,
    checkpoint_fidelity,
    latent_effect,
)
from tests.conftest import REPO_ROOT

SIZES = ("700", "1500")
MAX_SHIPPED_BYTES = 20 * 1024 * 1024


def _shipped(model: str, preset: str) -> bool:
    return all(
        f"{model}/{preset}/{genre}-{size}" in list_shipped_checkpoints(model)
        for genre in ("techno-house", "jazz-soul")
        for size in SIZES
    )


def _kick_on_beat(model: str, corpus: str, preset: str | None = None) -> float:
    tracks = generate(model, corpus=corpus, preset=preset, num=4, seed=2024)
    assert all(len(track.event_ids) == 960 for track in tracks)  # 60 bars = 2 min at 120 qpm
    return float(np.mean([metrics.kick_on_beat_share(track.event_ids) for track in tracks]))


@pytest.mark.skipif(not _shipped("drums_rnn", "thesis"), reason="DrumsRNN checkpoints not shipped")
@pytest.mark.parametrize("size", SIZES)
def test_drums_rnn_techno_keeps_the_kick_and_jazz_does_not(size):
    techno = _kick_on_beat("drums_rnn", f"techno-house-{size}")
    jazz = _kick_on_beat("drums_rnn", f"jazz-soul-{size}")
    assert techno > 0.6, techno
    assert jazz < 0.5, jazz
    assert techno - jazz > 0.25


MUSIC_VAE_GENRE_PRESETS = ("cat-drums_2bar_small", "hier-60bar")


@pytest.mark.parametrize("preset", MUSIC_VAE_GENRE_PRESETS)
def test_music_vae_techno_keeps_the_kick_more_than_jazz(preset):
    corpora = [f"music_vae/{preset}/{genre}-1500" for genre in ("techno-house", "jazz-soul")]
    if not set(corpora) <= set(list_shipped_checkpoints("music_vae")):
        pytest.skip(f"MusicVAE {preset} checkpoints not shipped")
    techno = _kick_on_beat("music_vae", "techno-house-1500", preset)
    jazz = _kick_on_beat("music_vae", "jazz-soul-1500", preset)
    assert techno - jazz > 0.2, (techno, jazz)


@pytest.mark.skipif(not _shipped("music_vae", "thesis-longbar"), reason="not shipped")
@pytest.mark.parametrize("size", SIZES)
def test_music_vae_thesis_longbar_generates_two_minutes_for_both_genres(size):
    for genre in ("techno-house", "jazz-soul"):
        tracks = generate("music_vae", corpus=f"{genre}-{size}", num=2, seed=7)
        assert [len(track.event_ids) for track in tracks] == [960, 960]
        assert all(metrics.mean_hits_per_bar(track.event_ids) > 1 for track in tracks)


def test_every_shipped_checkpoint_has_a_complete_card():
    for name in list_shipped_checkpoints():
        directory = CHECKPOINTS_DIR / name
        card = read_card(directory)
        assert (directory / "model.keras").stat().st_size <= MAX_SHIPPED_BYTES, name
        assert card["model"] in name and card["corpus"] in name and card["preset"] in name
        training = card["training"]
        for key in (
            "steps",
            "wall_time_s",
            "best_eval_loss",
            "final_train_metrics",
            "final_eval_metrics",
            "date",
        ):
            assert training[key] is not None, (name, key)
        assert card["data"]["train_examples"] > 0 and card["data"]["corpus_sha256"]


# --------------------------------------------------------------------------- issue 18 targets
# Every shipped checkpoint is either listed as meeting all of issue 18's targets (16 seeded
# 60-bar samples, temperature 1.0, against its training corpus) or as a known miss with the
# reason; docs/models.md's checkpoint table says the same. `GENRES_APART` lists the checkpoints
# for which docs/models.md claims the genre target (techno kick-on-four ≥ 0.7, jazz ≤ 0.2).
MEETS_TARGETS: frozenset[str] = frozenset(
    {
        "drums_rnn/thesis/techno-house-700",
        "drums_rnn/thesis/techno-house-1500",
        "drums_rnn/thesis/jazz-soul-700",
        "drums_rnn/thesis/jazz-soul-1500",
        "music_vae/cat-drums_2bar_small/jazz-soul-1500",
        "music_vae/hier-60bar/jazz-soul-1500",
        "music_vae/thesis-longbar/jazz-soul-700",
        "music_vae/thesis-longbar/jazz-soul-1500",
        "structured/thesis-form/techno-house-700",
        "structured/thesis-form/techno-house-1500",
        "structured/thesis-form/jazz-soul-700",
        "structured/thesis-form/jazz-soul-1500",
    }
)
KNOWN_MISSES: dict[str, str] = {
    "music_vae/cat-drums_2bar_small/techno-house-1500": "6,000 steps from scratch (12 free "
    "bits, β = 1, scheduled sampling off): kick on all four 0.85 and backbeat 0.80 met, but bar "
    "similarity 0.59 against the corpus's 0.86 (each 2-bar segment of the latent walk is a fresh "
    "draw) and 1 of 16 samples outside the hits range",
    "music_vae/hier-60bar/techno-house-1500": "13,200 steps without autoregression, then 6,000 "
    "with it (the conductor reads each bar's final decoder state; exported at step 4,800): bar "
    "similarity 0.74, kick on all four 0.88 and backbeat 0.73 met, but 1 of 16 samples outside "
    "the hits range (one track at 11.3 hits/bar against the corpus's 13.4–24.3)",
    "music_vae/thesis-longbar/techno-house-1500": "400 steps fine-tuned from the flat "
    "techno-house-700 model (issue 29): kick on all four 0.76, bar similarity 0.77 and no noise, "
    "but backbeat 0.37 against the corpus's 0.77 (the flat decoder loses the bar line)",
    "music_vae/thesis-longbar/techno-house-700": "standard ELBO, then 23,000 steps with scheduled "
    "sampling off (37,500 in all): bar similarity 0.81 and kick on all four 0.80 met, but 1 of 16 "
    "samples is outside the hits range and backbeat 0.27 against 0.76 (the flat decoder plays the "
    "snare pattern on 1 & 3 about as often as on 2 & 4: it loses count of the bar line)",
}
# Genre target: techno kick-on-four ≥ 0.7, jazz ≤ 0.2 (the MusicVAE jazz models meet it only
# because they never play four-on-the-floor; of the techno MusicVAEs the retrained hier-60bar
# and 2-bar ones meet it).
GENRES_APART: frozenset[str] = frozenset(
    {
        "drums_rnn/thesis/techno-house-700",
        "drums_rnn/thesis/techno-house-1500",
        "drums_rnn/thesis/jazz-soul-700",
        "drums_rnn/thesis/jazz-soul-1500",
        "music_vae/cat-drums_2bar_small/jazz-soul-1500",
        "music_vae/cat-drums_2bar_small/techno-house-1500",
        "music_vae/hier-60bar/jazz-soul-1500",
        "music_vae/hier-60bar/techno-house-1500",
        "music_vae/thesis-longbar/jazz-soul-1500",
        "music_vae/thesis-longbar/jazz-soul-700",
        "music_vae/thesis-longbar/techno-house-700",
        "music_vae/thesis-longbar/techno-house-1500",
        "structured/thesis-form/techno-house-700",
        "structured/thesis-form/techno-house-1500",
        "structured/thesis-form/jazz-soul-700",
        "structured/thesis-form/jazz-soul-1500",
    }
)


def test_every_shipped_checkpoint_meets_the_targets_or_is_a_listed_miss():
    shipped = set(list_shipped_checkpoints())
    assert not MEETS_TARGETS & set(KNOWN_MISSES)
    assert shipped == MEETS_TARGETS | set(KNOWN_MISSES), shipped ^ (
        MEETS_TARGETS | set(KNOWN_MISSES)
    )
    assert all(len(reason) > 20 for reason in KNOWN_MISSES.values())
    assert GENRES_APART.issubset(shipped)


def test_cards_store_the_fidelity_report_they_are_listed_by():
    for name in list_shipped_checkpoints():
        report = read_card(CHECKPOINTS_DIR / name)["fidelity"]
        assert report["settings"] == {
            "samples": FIDELITY_SAMPLES,
            "bars": 60,
            "seed": FIDELITY_SEED,
            "temperature": 1.0,
        }, name
        assert report["meets_targets"] == (name in MEETS_TARGETS), name


@functools.cache  # several slow tests judge one resampled report
def _fresh_report(name: str):
    return checkpoint_fidelity(CHECKPOINTS_DIR / name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MEETS_TARGETS))
def test_checkpoint_meets_the_issue_targets(name):
    report = _fresh_report(name)
    assert report.meets_targets, [check for check in report.checks if not check.met]
    stored = read_card(CHECKPOINTS_DIR / name)["fidelity"]["model"]
    assert report.samples.figures() == pytest.approx(stored)  # the card tells the truth


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GENRES_APART - MEETS_TARGETS))
def test_genres_stay_apart(name):
    report = _fresh_report(name)
    genre_check = report.checks[-1]
    assert genre_check.target.startswith(report.genre), genre_check
    assert genre_check.met, genre_check


# --------------------------------------------------------------------------- issue 29 targets
# Every shipped MusicVAE either plays like trained Magenta (`magenta_checks`: the flat model
# against absolute thresholds, hier-60bar and the 2-bar walk against the flat model of their
# corpus) or is a listed miss; docs/models.md's Magenta table says the same.
PLAYS_LIKE_MAGENTA: frozenset[str] = frozenset(
    {
        "music_vae/thesis-longbar/techno-house-700",
        "music_vae/thesis-longbar/jazz-soul-700",
        "music_vae/thesis-longbar/techno-house-1500",
        "music_vae/cat-drums_2bar_small/techno-house-1500",
        "music_vae/hier-60bar/techno-house-1500",
        "music_vae/thesis-longbar/jazz-soul-1500",
        "music_vae/hier-60bar/jazz-soul-1500",
        "music_vae/cat-drums_2bar_small/jazz-soul-1500",
    }
)
# Empty since 2026-12-06; a checkpoint that misses goes here with the figure it misses by.
NOT_YET_LIKE_MAGENTA: dict[str, str] = {}


def _magenta_checks(name: str, figures: dict[str, float], hits_per_sample: list[float]):
    model, preset, corpus = name.split("/")
    genre = corpus.rsplit("-", 1)[0]
    flat = None
    if preset != "thesis-longbar":
        flat_card = read_card(CHECKPOINTS_DIR / f"{model}/thesis-longbar/{corpus}")
        flat = flat_card["fidelity"]["model"]["bar_similarity_1"]
    return magenta_checks(figures, hits_per_sample, genre, flat_bar_similarity=flat)


def _plays_like_magenta(name: str) -> bool:
    """Every issue-29 target met, and for hier-60bar and the 2-bar walk also by the flat model
    they are measured against (beside a loose flat model the relative target means nothing)."""
    report = read_card(CHECKPOINTS_DIR / name)["fidelity"]
    checks = _magenta_checks(name, report["model"], report["model_hits_per_bar_per_sample"])
    model, _, corpus = name.split("/")
    flat = f"{model}/thesis-longbar/{corpus}"
    return all(check.met for check in checks) and (name == flat or _plays_like_magenta(flat))


def test_every_shipped_music_vae_plays_like_magenta_or_is_a_listed_miss():
    shipped = set(list_shipped_checkpoints("music_vae"))
    assert shipped == PLAYS_LIKE_MAGENTA | set(NOT_YET_LIKE_MAGENTA)
    assert not PLAYS_LIKE_MAGENTA & set(NOT_YET_LIKE_MAGENTA)
    assert {name for name in shipped if _plays_like_magenta(name)} == PLAYS_LIKE_MAGENTA


def test_the_readme_shows_each_music_vae_as_its_card_does():
    """README's "Do the shipped MusicVAEs play like the thesis's?" table: one row per shipped
    MusicVAE, with its card's hits/bar ± sd, kick on all four, backbeat and bar similarity."""
    number = r" \| ([\d.]+)"
    row = re.compile(r"^\| `([\w-]+/[\w-]+)`[^|]*" + number + r" ± ([\d.]+)" + number * 3, re.M)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rows = {match.group(1): match.groups()[1:] for match in row.finditer(readme)}
    shipped = {name.removeprefix("music_vae/") for name in list_shipped_checkpoints("music_vae")}
    assert set(rows) == shipped
    for name, cells in rows.items():
        figures = read_card(CHECKPOINTS_DIR / "music_vae" / name)["fidelity"]["model"]
        expected = (
            f"{figures['hits_per_bar']:.1f}",
            f"{figures['hits_per_bar_spread']:.1f}",
            *(
                f"{figures[key]:.2f}"
                for key in ("kick_four_on_floor_share", "backbeat_share", "bar_similarity_1")
            ),
        )
        assert cells == expected, name


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PLAYS_LIKE_MAGENTA))
def test_checkpoint_plays_like_magenta(name):
    report = _fresh_report(name)
    figures = report.samples.figures()
    checks = _magenta_checks(name, figures, list(report.samples.hits_per_bar_per_track))
    assert all(check.met for check in checks), [check for check in checks if not check.met]
    stored = read_card(CHECKPOINTS_DIR / name)["fidelity"]["model"]
    assert figures == pytest.approx(stored)  # the card tells the truth


TWO_BAR_MODELS = [
    f"music_vae/cat-drums_2bar_small/{genre}-1500" for genre in ("techno-house", "jazz-soul")
]


@pytest.mark.parametrize("name", TWO_BAR_MODELS)
def test_two_bar_models_follow_their_code_so_the_latent_walk_steers_the_track(name):
    # A 60-bar track from a 2-bar model is a walk through z: it evolves only if the decoder
    # listens to z (no posterior collapse). Two decodes of one code share more onsets than
    # decodes of different codes.
    network, card = load_checkpoint(CHECKPOINTS_DIR / name)
    effect = latent_effect(card["model"], network)
    assert effect.effect > 0.05, effect


def test_latent_effect_is_zero_when_the_code_is_ignored_and_none_without_a_code(monkeypatch):
    from drumeval.models import music_vae

    network, card = load_checkpoint(CHECKPOINTS_DIR / TWO_BAR_MODELS[0])
    decode = music_vae.decode
    monkeypatch.setattr(
        music_vae, "decode", lambda net, codes, **kw: decode(net, np.zeros_like(codes), **kw)
    )
    ignored = latent_effect(card["model"], network)
    assert abs(ignored.effect) < 0.03, ignored  # only sampling noise differs
    drums_rnn, rnn_card = load_checkpoint(CHECKPOINTS_DIR / "drums_rnn/thesis/jazz-soul-1500")
    assert latent_effect(rnn_card["model"], drums_rnn) is None
