"""The public arena (`/arena`): anyone compares two 30-second excerpts, votes, then sees which
model made which; the votes feed a standing pairwise study and its live leaderboard.

- **Contestants**: the shipped models at their default presets (700 and 1500 examples) and a
  human drummer (eval-split examples of the corpus). A match pairs two contestants of one
  genre — the pair with the fewest counted votes so far, sides at random.
- **Excerpts**: bars 23–37 (30 s from the middle) cut from each 60-bar rendering and
  level-matched on their own (`clips.finish_clip(excerpt_bars=…)`), rendered once when the
  demo is built (`ensure_arena`, run by `drumeval study demo --ensure`, i.e. `make run`) and
  kept in the content-addressed clip store: a visitor's request never renders anything, and
  the audio URL is a hash that names no model.
- **Visitors** have no account: a random token kept in the browser session stands for them (its
  hash is a participant row of the arena study); no IP address or browser fingerprint is stored.
- **Votes** (A / B / Tie / Both bad) unlock when each side was heard for
  `MIN_LISTEN_SECONDS`; one session may cast at most `VOTES_PER_MINUTE` a minute
  (`RateLimitError`), and a run of `BURST_SIZE` identical votes within
  `BURST_WINDOW_SECONDS` is flagged `burst`: stored and exported, left out of the leaderboard.
- **Reveal**: which contestant played A and B is told only once the pair has a vote.
"""

import functools
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from db import repository
from db.engine import transaction
from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.errors import AnalysisError, RateLimitError, RatingError, StudyError
from drumeval.progress import ProgressCallback, no_progress
from drumeval.study import flow, pool, setup
from drumeval.study.tokens import hash_token, new_token

ARENA_SLUG = "arena"
ARENA_PREFIX = "arena/"
ARENA_SEED = 2027
TRACK_BARS = 60  # excerpts are cut from the full-length tracks the models make
EXCERPT_BARS = (23, 37)  # 15 bars = 30 s at 120 qpm, from the middle of the track
EXCERPTS_PER_GENRE = 2  # per contestant: 5 contestants × 2 genres × 2 = 20 excerpts
MODEL_CORPUS_SIZES = (700, 1500)
REFERENCE_CORPUS_SIZE = 1500  # the human excerpts come from this corpus's eval split
MIN_LISTEN_SECONDS = 10  # per side, before the vote unlocks
VOTES_PER_MINUTE = 4  # per browser session; an attentive vote takes 20 s or more anyway
BURST_SIZE = 5  # identical votes in a row …
BURST_WINDOW_SECONDS = 180  # … within this time are flagged, not counted
MIN_VOTES = 20  # below this a contestant is "preliminary" on the leaderboard
LEADERBOARD_RESAMPLES = 500  # bootstrap replicates of the live board (cached per vote set)
BURST_FLAG = "burst"
HUMAN = f"{ARENA_PREFIX}human"


@dataclass(frozen=True)
class Contestant:
    """One entrant of the arena: its condition name in the pool and what the reveal says."""

    condition: str
    label: str
    model: str | None = None  # None: the human drummer
    preset: str | None = None
    corpus_size: int | None = None


def contestants(corpus_sizes: Sequence[int] = MODEL_CORPUS_SIZES) -> tuple[Contestant, ...]:
    """The shipped models at their default presets on each corpus size, and the human drummer."""
    from drumeval.registry import DEFAULT_PRESETS, MODELS

    models = tuple(
        Contestant(
            condition=f"{ARENA_PREFIX}{model}/{preset}/{size}",
            label=f"{MODELS[model].label} ({preset}, {size} examples)",
            model=model,
            preset=preset,
            corpus_size=size,
        )
        for model, preset in DEFAULT_PRESETS.items()
        for size in corpus_sizes
    )
    return (*models, Contestant(HUMAN, "Human drummer (corpus eval split)"))


def label_of(condition: str) -> str:
    """What the reveal and the leaderboard call a condition (its name when unknown)."""
    return {c.condition: c.label for c in contestants()}.get(condition, condition)


# --- pure rules ------------------------------------------------------------------------------


def seconds_until_allowed(
    vote_times: Sequence[datetime], now: datetime, *, per_minute: int = VOTES_PER_MINUTE
) -> float:
    """0 when one more vote fits the rate limit, else the seconds until it does."""
    recent = sorted(t for t in vote_times if now - t < timedelta(minutes=1))
    if len(recent) < per_minute:
        return 0.0
    oldest_counted = recent[len(recent) - per_minute]
    return max(0.0, 60.0 - (now - oldest_counted).total_seconds())


def burst_flags(
    votes: Sequence[tuple[datetime, str]],
    *,
    size: int = BURST_SIZE,
    window_seconds: float = BURST_WINDOW_SECONDS,
) -> list[bool]:
    """Which votes (time, outcome; oldest first) belong to a burst: `size` consecutive
    identical outcomes cast within `window_seconds` of each other — a pattern of clicking,
    not listening. Every vote of such a run is flagged (the earlier ones too)."""
    flags = [False] * len(votes)
    run_start = 0
    for index, (when, outcome) in enumerate(votes):
        if index and outcome != votes[index - 1][1]:
            run_start = index
        first = index - size + 1
        if first >= run_start and (when - votes[first][0]).total_seconds() <= window_seconds:
            flags[first : index + 1] = [True] * size
    return flags


@dataclass(frozen=True)
class ArenaClip:
    id: int
    condition: str
    genre: str


def choose_pair(
    clips: Sequence[ArenaClip], votes_per_pair: Mapping[frozenset[str], int], seed: int
) -> tuple[int, int]:
    """Clip ids for sides A and B: two different contestants of one genre (a random genre),
    the pair of contestants with the fewest votes so far (ties at random), a random excerpt
    of each, and a random side for each."""
    rng = np.random.default_rng(seed)
    by_genre: dict[str, dict[str, list[int]]] = {}
    for clip in clips:
        by_genre.setdefault(clip.genre, {}).setdefault(clip.condition, []).append(clip.id)
    genres = sorted(genre for genre, entrants in by_genre.items() if len(entrants) >= 2)
    if not genres:
        raise StudyError("the arena needs excerpts of two contestants in one genre")
    entrants = by_genre[genres[int(rng.integers(len(genres)))]]
    pairs = list(itertools.combinations(sorted(entrants), 2))
    fewest = min(votes_per_pair.get(frozenset(pair), 0) for pair in pairs)
    candidates = [pair for pair in pairs if votes_per_pair.get(frozenset(pair), 0) == fewest]
    pair = candidates[int(rng.integers(len(candidates)))]
    chosen = [sorted(entrants[condition])[int(rng.integers(len(entrants[condition])))]
              for condition in pair]  # fmt: skip
    first, second = chosen if rng.random() < 0.5 else chosen[::-1]
    return first, second


# --- building the arena ----------------------------------------------------------------------


def arena_config_text(conditions: Sequence[str], clips_per_condition: int) -> str:
    """The arena study's config (stored with it, like any study's)."""
    return setup.config_to_toml(
        {
            "title": "Arena: which drum track is better?",
            "slug": ARENA_SLUG,
            "seed": ARENA_SEED,
            "trial_type": "pairwise",
            "conditions": list(conditions),
            "clips_per_condition": clips_per_condition,
            "trials_per_participant": 1,  # unused: visitors get one pair after another
            "reason": "none",
            "min_listen_seconds": MIN_LISTEN_SECONDS,
            "headphone_check": False,
        }
    )


def build_arena_pool(
    engine: Engine,
    *,
    entrants: Sequence[Contestant],
    per_genre: int = EXCERPTS_PER_GENRE,
    bars: int = TRACK_BARS,
    excerpt_bars: tuple[int, int] = EXCERPT_BARS,
    progress: ProgressCallback | None = None,
) -> int:
    """Render the excerpts still missing (per contestant and genre, seeds from `ARENA_SEED`)
    through the pool's one clip path; returns how many were added. Idempotent."""
    from drumeval.clips import Condition
    from drumeval.registry import GENRE_NAMES, corpus_name

    report = progress or no_progress
    target_lufs = pool.pool_target_lufs(engine)
    have = {
        (clip.condition, clip.genre, clip.seed)
        for clip in pool.pool_clips(engine, conditions=[c.condition for c in entrants])
    }
    jobs = []
    for genre in GENRE_NAMES:
        for entrant in entrants:
            if entrant.model is None:
                corpus = corpus_name(genre, REFERENCE_CORPUS_SIZE)
                data = pool.open_corpus(corpus)
                seeds = pool.pick_eval_examples(
                    data.lengths,
                    data.is_eval,
                    steps=excerpt_bars[1] * STEPS_PER_BAR,
                    count=per_genre,
                    seed=ARENA_SEED,
                )
                how = {"role": "reference", "corpus": corpus, "genre": genre,
                       "bars": excerpt_bars[1]}  # fmt: skip
            else:
                seeds = list(range(ARENA_SEED, ARENA_SEED + per_genre))
                template = Condition(
                    entrant.model, entrant.preset, genre, entrant.corpus_size, 1.0, bars, 0
                )
                how = {"role": "generated", "template": template}
            jobs += [
                (f"{entrant.label}, {genre}", entrant.condition, seed, how)
                for seed in seeds
                if (entrant.condition, genre, seed) not in have
            ]
    added = 0
    for done, (label, condition, seed, how) in enumerate(jobs):
        report(label, done, len(jobs))
        clip = pool.build_and_store(
            engine,
            condition=condition,
            seed=seed,
            target_lufs=target_lufs,
            is_demo=True,
            excerpt_bars=excerpt_bars,
            **how,
        )
        added += clip is not None
    report("done", len(jobs), len(jobs))
    return added


def arena_exists(engine: Engine) -> bool:
    with transaction(engine) as session:
        return repository.get_study(session, slug=ARENA_SLUG) is not None


def ensure_arena(
    engine: Engine,
    *,
    entrants: Sequence[Contestant] | None = None,
    per_genre: int = EXCERPTS_PER_GENRE,
    bars: int = TRACK_BARS,
    excerpt_bars: tuple[int, int] = EXCERPT_BARS,
    progress: ProgressCallback | None = None,
) -> setup.StudySummary:
    """The open arena study, rendering its excerpts and creating it the first time."""
    entrants = contestants() if entrants is None else entrants
    with transaction(engine) as session:
        existing = repository.get_study(session, slug=ARENA_SLUG)
    if existing is None:
        build_arena_pool(
            engine,
            entrants=entrants,
            per_genre=per_genre,
            bars=bars,
            excerpt_bars=excerpt_bars,
            progress=progress,
        )
        from drumeval.registry import GENRE_NAMES

        conditions = [c.condition for c in entrants]
        setup.create_study(
            engine, arena_config_text(conditions, per_genre * len(GENRE_NAMES)), is_demo=True
        )
    if existing is None or existing.status == "draft":
        setup.open_study(engine, ARENA_SLUG)
    return next(s for s in setup.list_summaries(engine) if s.slug == ARENA_SLUG)


# --- a visitor's matches ---------------------------------------------------------------------


def load_arena(engine: Engine) -> flow.StudyInfo:
    """The arena study, or a clear error when `make run` has not built it."""
    try:
        return flow.load_study(engine, ARENA_SLUG)
    except StudyError as error:
        raise StudyError(
            "The arena is not set up on this server yet (`drumeval study demo --ensure` "
            f"builds it). {error}"
        ) from error


def join(engine: Engine, arena: flow.StudyInfo) -> str:
    """A new visitor: the secret token their browser session keeps (nothing else about them)."""
    token = new_token()
    with transaction(engine, write_lock=True) as session:
        repository.join_arena(session, study_id=arena.id, token_sha256=hash_token(token))
    return token


def _visitor(session, arena: flow.StudyInfo, token: str):
    participant = repository.get_participant(
        session, study_id=arena.id, token_sha256=hash_token(token)
    )
    if participant is None:
        raise RatingError("This arena session has expired; reload the page to start a new one.")
    return participant


def _votes_per_pair(session, arena: flow.StudyInfo) -> Counter:
    rows = repository.pairwise_vote_rows(session, study_id=arena.id)
    return Counter(
        frozenset((row["condition_a"], row["condition_b"])) for row in rows if row["flag"] is None
    )


def current_match(engine: Engine, arena: flow.StudyInfo, token: str) -> flow.TrialPage:
    """The visitor's pair on screen: the one not voted on yet, or a new one."""
    with transaction(engine, write_lock=True) as session:
        participant = _visitor(session, arena, token)
        base = {"participant_id": participant.id}
        page = flow.trial_progress(session, arena, participant, base).page
        if page is not None:
            return page
        clips = [
            ArenaClip(clip.id, clip.condition, clip.genre or "")
            for clip in repository.study_trial_clips(session, study_id=arena.id)
        ]
        votes = len(repository.participant_votes(session, participant_id=participant.id))
        pair = choose_pair(
            clips,
            _votes_per_pair(session, arena),
            seed=ARENA_SEED * 1_000_003 + participant.id * 1009 + votes,
        )
        repository.add_arena_trial(session, participant_id=participant.id, clip_ids=pair)
        page = flow.trial_progress(session, arena, participant, base).page
        assert page is not None  # the pair just added
        return page


@dataclass(frozen=True)
class Reveal:
    """Which contestant played each side, shown once the pair has a vote."""

    outcome: str
    label_a: str
    label_b: str
    counted: bool  # False: flagged (a burst of identical votes), kept out of the leaderboard


def reveal(engine: Engine, arena: flow.StudyInfo, token: str, trial_id: int) -> Reveal:
    """The names behind A and B of a pair this visitor voted on (refused before the vote)."""
    with transaction(engine) as session:
        participant = _visitor(session, arena, token)
        rows = repository.trial_rows(session, participant_id=participant.id)
        votes = {
            vote.trial_id: vote
            for vote in repository.participant_votes(session, participant_id=participant.id)
        }
    stimuli = next((stimuli for trial, stimuli, _ in rows if trial.id == trial_id), None)
    if stimuli is None:
        raise RatingError("This pair is not part of your arena session; reload the page.")
    vote = votes.get(trial_id)
    if vote is None:
        raise RatingError("Vote first: the models are revealed after your vote.")
    label_a, label_b = (label_of(clip.condition) for _, clip in stimuli)
    return Reveal(vote.outcome, label_a, label_b, counted=vote.flag is None)


def vote(
    engine: Engine,
    arena: flow.StudyInfo,
    token: str,
    *,
    trial_id: int,
    outcome: str | None,
    heard: Mapping[int, float],
    now: datetime | None = None,
) -> Reveal:
    """Store a vote on the pair on screen and reveal it; a repeat submit reveals the same.

    Refused when a side was not heard for its minimum (`flow.submit_vote`) or when the
    session voted `VOTES_PER_MINUTE` times in the last minute (`RateLimitError`). A vote that
    completes a burst of identical votes flags the whole burst.
    """
    now = now or datetime.now(UTC)
    with transaction(engine) as session:
        participant = _visitor(session, arena, token)
        earlier = repository.participant_votes(session, participant_id=participant.id)
    if any(v.trial_id == trial_id for v in earlier):
        return reveal(engine, arena, token, trial_id)
    wait = seconds_until_allowed([v.created_at for v in earlier], now, per_minute=VOTES_PER_MINUTE)
    if wait > 0:
        raise RateLimitError(
            f"You can vote at most {VOTES_PER_MINUTE} times a minute; please wait "
            f"{int(np.ceil(wait))} s.",
            retry_after_seconds=wait,
        )
    flow.submit_vote(engine, arena, token, trial_id=trial_id, outcome=outcome, heard=heard)
    with transaction(engine, write_lock=True) as session:
        votes = repository.participant_votes(session, participant_id=participant.id)
        flags = burst_flags([(v.created_at, v.outcome) for v in votes])
        newly = [v.id for v, flag in zip(votes, flags, strict=True) if flag and v.flag is None]
        repository.flag_votes(session, vote_ids=newly, flag=BURST_FLAG)
    return reveal(engine, arena, token, trial_id)


# --- the leaderboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    """The live leaderboard: `pairwise.leaderboard`'s table with contestant labels."""

    table: pd.DataFrame  # empty until two contestants have been compared
    counted_votes: int
    flagged_votes: int
    min_votes: int


@functools.lru_cache(maxsize=8)
def _ranked(
    votes: tuple[tuple[str, str, str, str], ...], min_votes: int, resamples: int, seed: int
) -> pd.DataFrame:
    """The bootstrap is the costly part (~1 s): computed once per set of counted votes."""
    from drumeval.analysis.pairwise import leaderboard

    frame = pd.DataFrame(
        votes, columns=["participant_id", "condition_a", "condition_b", "outcome"]
    ).assign(trial_id=range(len(votes)))
    return leaderboard(frame, min_votes=min_votes, n_boot=resamples, seed=seed)


def arena_leaderboard(
    engine: Engine,
    *,
    min_votes: int = MIN_VOTES,
    resamples: int = LEADERBOARD_RESAMPLES,
    seed: int = 0,
) -> Board:
    """Bradley–Terry scores with bootstrap 95 % CIs over the counted votes, per contestant."""
    with transaction(engine) as session:
        study = repository.get_study(session, slug=ARENA_SLUG)
        if study is None:
            raise StudyError("The arena is not set up on this server yet.")
        rows = repository.pairwise_vote_rows(session, study_id=study.id)
    counted = tuple(
        (str(row["participant_id"]), row["condition_a"], row["condition_b"], row["outcome"])
        for row in rows
        if row["flag"] is None
    )
    try:
        table = _ranked(counted, min_votes, resamples, seed).copy()
    except AnalysisError:  # fewer than two contestants compared yet
        table = pd.DataFrame()
    if not table.empty:
        table.insert(1, "model", table["condition"].map(label_of))
    return Board(table, len(counted), len(rows) - len(counted), min_votes)
