"""The demo study a newcomer finds after `make run`: built once on first start, then reused.

Every model — DrumsRNN, MusicVAE and the structure model, playing its genre's default form, so
that a study can hear long-term phrasing (issue 33) — × both genres × 2 clips (700-example
corpora, default presets, temperature 1), a human reference and a low anchor per genre, and a
practice clip: 16 rated clips, of which each participant hears 4, at least 20 s each, so the
whole flow takes a few minutes. Its conditions live under `demo/` in the pool and the study and
its clips are marked `is_demo`, so the analysis can leave demo ratings out while they stay real
rows.
"""

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from db import repository
from db.engine import transaction
from drumeval.progress import ProgressCallback
from drumeval.study import pool, setup

DEMO_SLUG = "demo"
DEMO_BARS = 60  # full 2-minute clips: ~7 s each to build warm on a 2-core machine
DEMO_PREFIX = "demo/"
DEMO_SEED = 2026
DEMO_CLIPS_PER_CONDITION = 2
DEMO_CLIPS_PER_PARTICIPANT = 4
DEMO_MIN_LISTEN_SECONDS = 20


def demo_conditions(bars: int = DEMO_BARS) -> list:
    """Every model × genre at its default preset on the 700-example corpus (the structured
    model with its genre's default form: plain condition names, nothing to give away)."""
    from drumeval.clips import Condition
    from drumeval.registry import DEFAULT_PRESETS, GENRE_NAMES, MODEL_NAMES

    return [
        Condition(model, DEFAULT_PRESETS[model], genre, 700, 1.0, bars, DEMO_SEED)
        for model in MODEL_NAMES
        for genre in GENRE_NAMES
    ]


def demo_config_text(bars: int = DEMO_BARS) -> str:
    """The demo's study config (stored with it, like any study's)."""
    return setup.config_to_toml(
        {
            "title": "Demo: rate a few drum tracks",
            "slug": DEMO_SLUG,
            "seed": DEMO_SEED,
            "conditions": [
                pool.condition_name(condition, prefix=DEMO_PREFIX)
                for condition in demo_conditions(bars)
            ],
            "clips_per_condition": DEMO_CLIPS_PER_CONDITION,
            "clips_per_participant": DEMO_CLIPS_PER_PARTICIPANT,
            "references": 1,
            "anchors": 1,
            "practice": True,
            "min_listen_seconds": DEMO_MIN_LISTEN_SECONDS,
            "headphone_check": True,
            "consent_text": (
                "This is the demo of drumeval's listening study. You will hear a few short "
                "drum tracks and rate each one. Your answers are stored as demo ratings, "
                "apart from any real study, with no name, e-mail or IP address."
            ),
        }
    )


@dataclass(frozen=True)
class DemoResult:
    study: setup.StudySummary
    built: bool  # False: it existed already


def demo_exists(engine: Engine) -> bool:
    with transaction(engine) as session:
        return repository.get_study(session, slug=DEMO_SLUG) is not None


def ensure_demo(
    engine: Engine, *, bars: int = DEMO_BARS, progress: ProgressCallback | None = None
) -> DemoResult:
    """The open demo study, building its pool and study the first time (idempotent)."""
    with transaction(engine) as session:
        existing = repository.get_study(session, slug=DEMO_SLUG)
    if existing is None:
        pool.build_pool(
            engine,
            conditions=demo_conditions(bars),
            per_condition=DEMO_CLIPS_PER_CONDITION,
            seed=DEMO_SEED,
            references_per_genre=1,
            anchors_per_genre=1,
            practice=True,
            is_demo=True,
            prefix=DEMO_PREFIX,
            progress=progress,
        )
        setup.create_study(engine, demo_config_text(bars), is_demo=True)
    if existing is None or existing.status == "draft":
        setup.open_study(engine, DEMO_SLUG)
    summary = next(s for s in setup.list_summaries(engine) if s.slug == DEMO_SLUG)
    return DemoResult(summary, built=existing is None)
