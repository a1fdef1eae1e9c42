"""A synthetic arena: the contestants' excerpts as seconds-long click tracks (no model)."""

from db import repository
from db.engine import transaction
from drumeval import clipstore
from drumeval.registry import GENRE_NAMES
from drumeval.study import arena, setup
from drumeval.study.synthetic import click_track_wav

PER_GENRE = 2
SECONDS = 3.0


def make_arena(engine, *, min_listen_seconds: int | None = None) -> dict[int, tuple[str, str]]:
    """The open arena study over every contestant × genre × `PER_GENRE` clips; returns
    clip id → (condition, genre)."""
    clips: dict[int, tuple[str, str]] = {}
    with transaction(engine, write_lock=True) as session:
        for g, genre in enumerate(GENRE_NAMES):
            for c, contestant in enumerate(arena.contestants()):
                for index in range(PER_GENRE):
                    seed = 1000 * g + 10 * c + index
                    clip = repository.add_clip(
                        session,
                        role="reference" if contestant.model is None else "generated",
                        condition=contestant.condition,
                        midi_sha256=clipstore.sha256_hex(f"arena#{seed}".encode()),
                        audio_sha256=clipstore.put(click_track_wav(seed, SECONDS), "wav"),
                        audio_format="wav",
                        duration_s=SECONDS,
                        genre=genre,
                        seed=seed,
                        is_demo=True,
                    )
                    clips[clip.id] = (contestant.condition, genre)
    text = arena.arena_config_text(
        [c.condition for c in arena.contestants()], PER_GENRE * len(GENRE_NAMES)
    )
    if min_listen_seconds is not None:
        text = text.replace(
            f"min_listen_seconds = {arena.MIN_LISTEN_SECONDS}",
            f"min_listen_seconds = {min_listen_seconds}",
        )
    setup.create_study(engine, text, is_demo=True)
    setup.open_study(engine, arena.ARENA_SLUG)
    return clips
