"""A synthetic clip pool named like `drumeval.study.pool` names it (no model, seconds of audio)."""

from db import repository
from db.engine import transaction
from drumeval import clipstore
from drumeval.study.synthetic import click_track_wav

GENERATED = (
    "drums_rnn/thesis/techno-house-700/t1/4bars",
    "music_vae/thesis-longbar/techno-house-700/t1/4bars",
)
REFERENCE = "reference/techno-house-700/4bars"
ANCHOR = "anchor/techno-house-700/4bars"
PRACTICE = "practice/4bars"
GOLD = "gold/techno-house-700/4bars"
ROLES = {REFERENCE: "reference", ANCHOR: "anchor", PRACTICE: "training", GOLD: "gold"}


def add_pool(
    engine, *, per_condition: int = 3, order: int = 1, gold: int = 0
) -> dict[str, list[int]]:
    """Clips per condition (`order=-1` inserts them in reverse: ids differ, content not)."""
    plan = [(name, per_condition) for name in GENERATED]
    plan += [(REFERENCE, 2), (ANCHOR, 2), (PRACTICE, 1)] + ([(GOLD, gold)] if gold else [])
    items = [(name, index) for name, count in plan for index in range(count)][::order]
    ids: dict[str, list[int]] = {name: [] for name, _ in plan}
    with transaction(engine, write_lock=True) as session:
        for name, index in items:
            seed = sum(map(ord, name)) * 10 + index
            clip = repository.add_clip(
                session,
                role=ROLES.get(name, "generated"),
                condition=name,
                midi_sha256=clipstore.sha256_hex(f"{name}#{index}".encode()),
                audio_sha256=clipstore.put(click_track_wav(seed, 2.0), "wav"),
                audio_format="wav",
                duration_s=2.0,
                genre="techno-house",
                seed=index,
                **({"model": name.split("/")[0], "corpus_size": 700} if name in GENERATED else {}),
            )
            ids[name].append(clip.id)
    return ids


CONFIG = """
title = "Two models"
slug = "two-models"
seed = 3
conditions = [
  "drums_rnn/thesis/techno-house-700/t1/4bars",
  "music_vae/thesis-longbar/techno-house-700/t1/4bars",
]
clips_per_condition = 2
clips_per_participant = 4
references = 1
anchors = 1
practice = true
min_listen_seconds = 2
headphone_check = false
completion_code = "DONE42"
"""
