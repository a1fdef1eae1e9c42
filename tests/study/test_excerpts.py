"""Excerpts: a study's `excerpt_bars` cuts that segment from every chosen clip at bar
boundaries, re-renders it at the pool's loudness (FluidSynth, like whole clips), records the
cut and stores it content-addressed once; a second study reuses it."""

import numpy as np
import pytest

from db.engine import transaction
from db.models import Clip, StudyClip
from drumeval import clipstore
from drumeval.clips import excerpt_event_ids, finish_clip
from drumeval.data.drum_classes import NUM_DRUM_CLASSES, STEPS_PER_BAR
from drumeval.data.midi import midi_bytes_to_sequence, sequence_to_drum_track
from drumeval.study import setup
from drumeval.study.pool import random_drums, store_clip

CONDITIONS = ("a/p/techno-house-700/t1/4bars", "b/p/techno-house-700/t1/4bars")
TARGET_LUFS = -20.0
CONFIG = f"""
title = "Short pairs"
slug = "short"
trial_type = "pairwise"
conditions = {list(CONDITIONS)!r}
clips_per_condition = 1
trials_per_participant = 1
excerpt_bars = [2, 3]
headphone_check = false
""".replace("'", '"')


def test_excerpt_event_ids_are_cut_at_bar_boundaries():
    ids = np.arange(4 * STEPS_PER_BAR)
    cut = excerpt_event_ids(ids, first_bar=2, last_bar=3)
    assert cut.tolist() == list(range(STEPS_PER_BAR, 3 * STEPS_PER_BAR))
    with pytest.raises(Exception, match="do not lie in a 4-bar clip"):
        excerpt_event_ids(ids, first_bar=3, last_bar=5)


def _pool(engine) -> dict[str, np.ndarray]:
    tracks = {}
    for seed, condition in enumerate(CONDITIONS):
        ids = random_drums(np.full(NUM_DRUM_CLASSES, 0.15), bars=4, seed=seed)
        clip = finish_clip(
            ids, genre="techno-house", corpus=None, provenance={}, target_lufs=TARGET_LUFS
        )
        store_clip(
            engine,
            clip,
            role="generated",
            condition=condition,
            genre="techno-house",
            seed=seed,
            is_demo=False,
            target_lufs=TARGET_LUFS,
            fields={"model": condition[0]},
        )
        tracks[condition] = ids
    return tracks


def test_a_study_with_excerpt_bars_plays_the_segment_of_each_clip(db_engine):
    tracks = _pool(db_engine)
    setup.create_study(db_engine, CONFIG)
    with transaction(db_engine) as session:
        whole = {c.condition: c for c in session.query(Clip) if c.condition in CONDITIONS}
        chosen = session.query(Clip).join(StudyClip, StudyClip.clip_id == Clip.id).all()
        before = session.query(Clip).count()
    assert sorted(clip.condition for clip in chosen) == [f"{c}/bars2-3" for c in CONDITIONS]
    for clip in chosen:
        source = whole[clip.condition.removesuffix("/bars2-3")]
        assert clip.provenance["excerpt_of"] == source.midi_sha256
        assert clip.provenance["bars"] == [2, 3] and clip.model == source.model
        assert clip.provenance["target_lufs"] == TARGET_LUFS
        assert abs(clip.loudness_lufs - TARGET_LUFS) < 1.0  # matched like whole clips
        assert clip.duration_s < source.duration_s
        assert clipstore.get(clip.audio_sha256, clip.audio_format)  # stored by content
        midi = clipstore.get(clip.midi_sha256, "mid")
        ids = sequence_to_drum_track(midi_bytes_to_sequence(midi, source="x"), source="x")
        expected = tracks[source.condition][STEPS_PER_BAR : 3 * STEPS_PER_BAR]
        assert ids.event_ids[: len(expected)].tolist() == expected.tolist()
    setup.create_study(db_engine, CONFIG.replace('slug = "short"', 'slug = "short-2"'))
    with transaction(db_engine) as session:
        assert session.query(Clip).count() == before  # the cut is made once, then reused


def test_bars_beyond_the_clip_name_excerpt_bars(db_engine):
    _pool(db_engine)
    with pytest.raises(setup.StudyConfigError) as raised:
        setup.create_study(db_engine, CONFIG.replace("[2, 3]", "[3, 9]"))
    assert raised.value.field == "excerpt_bars" and "4-bar clip" in str(raised.value)
