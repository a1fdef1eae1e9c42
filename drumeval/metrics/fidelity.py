"""Groove fidelity: do a model's samples play its training corpus's groove? (issue 18)

Loss curves hid undertrained models: low loss, yet hits placed almost at random. This
module compares the groove figures (`drumeval.metrics.groove`) of k seeded samples of a
checkpoint with the same figures on its training corpus, checks the issue's targets and
condenses the gap into one number the trainer can select weights by. Pure: it takes event
ids; sampling lives in `drumeval.training.fidelity`.

Aggregation: a figure of a set of tracks is the mean over tracks of each track's figure
(corpus examples and 60-bar samples alike), so one long noisy sample cannot hide behind
many good ones in a pooled count; the per-track hits/bar are kept for the "no noise" range.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drumeval.data.drum_classes import DRUM_CLASS_NAMES
from drumeval.errors import DrumevalError
from drumeval.metrics import class_shares, empty_bar_share, mean_hits_per_bar
from drumeval.metrics.groove import (
    backbeat_share,
    bar_similarity,
    kick_four_on_floor_share,
    shifted_backbeat_share,
)

# The targets (on 16 seeded 60-bar samples at temperature 1.0).
SHARE_TOLERANCE = 0.15  # |model − corpus| for bar similarity, kick-on-four, backbeat
MAX_EMPTY_BAR_SHARE = 0.05
HITS_PERCENTILES = (1.0, 99.0)  # every sample's hits/bar inside the corpus examples' range
TECHNO_MIN_KICK_FOUR = 0.7
JAZZ_MAX_KICK_FOUR = 0.2

# The figures compared with the corpus, in table order: (field, label).
FIGURES: tuple[tuple[str, str], ...] = (
    ("hits_per_bar", "hits/bar"),
    ("hits_per_bar_spread", "hits/bar spread (sd over tracks)"),
    ("empty_bar_share", "empty bars"),
    ("kick_four_on_floor_share", "kick on all 4 beats"),
    ("backbeat_share", "snare backbeat"),
    ("bar_similarity_1", "bar similarity (lag 1)"),
    ("bar_similarity_8", "bar similarity (lag 8)"),
)

# Every figure name of `GrooveProfile.figures()`, in table order.
FIGURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FIGURES) + tuple(
    f"share_{name}" for name in DRUM_CLASS_NAMES
)


@dataclass(frozen=True)
class GrooveProfile:
    """The groove figures of a set of tracks (a model's samples or a corpus's examples)."""

    num_tracks: int
    hits_per_bar_per_track: tuple[float, ...]
    empty_bar_share: float
    kick_four_on_floor_share: float
    backbeat_share: float
    bar_similarity_1: float
    bar_similarity_8: float
    class_shares: tuple[float, ...]  # share of all hits per drum class, pooled
    # Diagnostic, not a target (and not in `figures()`, which cards store): the backbeat
    # pattern on beats 1 and 3, i.e. with the bar line lost.
    shifted_backbeat_share: float
    # Standard error of `bar_similarity_1` over the tracks (sd / √n): how far two sets of
    # samples of one model may differ by chance (not in `figures()` either).
    bar_similarity_1_se: float = float("nan")

    @property
    def hits_per_bar(self) -> float:
        return float(np.mean(self.hits_per_bar_per_track))

    @property
    def hits_per_bar_spread(self) -> float:
        """Standard deviation over tracks of their mean hits/bar."""
        return float(np.std(self.hits_per_bar_per_track))

    def hits_per_bar_range(self) -> tuple[float, float]:
        """The 1st–99th percentile of the per-track hits/bar (the corpus's "no noise" band)."""
        low, high = np.percentile(self.hits_per_bar_per_track, HITS_PERCENTILES)
        return float(low), float(high)

    def tracks_outside(self, hits_range: tuple[float, float]) -> int:
        """How many tracks' mean hits/bar fall outside `hits_range` (a corpus's band)."""
        low, high = hits_range
        return sum(1 for hits in self.hits_per_bar_per_track if not low <= hits <= high)

    def figures(self) -> dict[str, float]:
        """The compared figures plus per-class shares, by name (for tables, logs and cards)."""
        values = {name: float(getattr(self, name)) for name, _ in FIGURES}
        shares = {
            f"share_{name}": float(share)
            for name, share in zip(DRUM_CLASS_NAMES, self.class_shares, strict=True)
        }
        return values | shares


def groove_profile(tracks: Sequence[np.ndarray]) -> GrooveProfile:
    """Profile of event-id tracks (each `[T]`, possibly of different lengths)."""
    tracks = [np.asarray(track) for track in tracks]
    if not tracks:
        raise DrumevalError("a groove profile needs at least one track")

    def values_of(figure) -> np.ndarray:
        return np.array([figure(track) for track in tracks], dtype=float)

    def mean_of(figure) -> float:
        return _nanmean(values_of(figure))

    similarity = values_of(lambda track: bar_similarity(track, lag=1))
    return GrooveProfile(
        num_tracks=len(tracks),
        hits_per_bar_per_track=tuple(mean_hits_per_bar(track) for track in tracks),
        empty_bar_share=mean_of(empty_bar_share),
        kick_four_on_floor_share=mean_of(kick_four_on_floor_share),
        backbeat_share=mean_of(backbeat_share),
        bar_similarity_1=_nanmean(similarity),
        bar_similarity_8=mean_of(lambda track: bar_similarity(track, lag=8)),
        class_shares=tuple(float(s) for s in class_shares(np.concatenate(tracks))),
        shifted_backbeat_share=mean_of(shifted_backbeat_share),
        bar_similarity_1_se=_standard_error(similarity),
    )


def _nanmean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _standard_error(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.std(finite, ddof=1) / np.sqrt(len(finite))) if len(finite) > 1 else float("nan")


def corpus_profile(event_ids: np.ndarray, lengths: np.ndarray) -> GrooveProfile:
    """Profile of a corpus split `[N, T]`, each example cropped to its length in steps."""
    return groove_profile(
        [row[: int(length)] for row, length in zip(event_ids, lengths, strict=True) if length]
    )


@dataclass(frozen=True)
class TargetCheck:
    """One of the issue's targets on one checkpoint: met or not, and the numbers why."""

    target: str
    met: bool
    detail: str


def check_targets(samples: GrooveProfile, corpus: GrooveProfile, genre: str) -> list[TargetCheck]:
    """The issue's targets for a checkpoint's samples against its training corpus.

    `genre` is the corpus genre (`techno-house` or `jazz-soul`) for the genres-apart target.
    """
    low, high = corpus.hits_per_bar_range()
    outside = samples.tracks_outside((low, high))
    checks = [
        TargetCheck(
            "hits/bar of every sample inside the corpus's 1st–99th percentile",
            outside == 0,
            f"{outside}/{samples.num_tracks} outside [{low:.1f}, {high:.1f}]",
        ),
        TargetCheck(
            f"empty bars ≤ {MAX_EMPTY_BAR_SHARE:.0%}",
            samples.empty_bar_share <= MAX_EMPTY_BAR_SHARE,
            f"{samples.empty_bar_share:.3f}",
        ),
    ]
    labels = dict(FIGURES)
    for name in ("bar_similarity_1", "kick_four_on_floor_share", "backbeat_share"):
        label = labels[name]
        model_value, corpus_value = getattr(samples, name), getattr(corpus, name)
        checks.append(
            TargetCheck(
                f"{label} within {SHARE_TOLERANCE} of the corpus",
                abs(model_value - corpus_value) <= SHARE_TOLERANCE,
                f"{model_value:.2f} vs corpus {corpus_value:.2f}",
            )
        )
    kick = samples.kick_four_on_floor_share
    if genre == "techno-house":
        checks.append(
            TargetCheck(
                f"techno-house: kick on all 4 beats ≥ {TECHNO_MIN_KICK_FOUR}",
                kick >= TECHNO_MIN_KICK_FOUR,
                f"{kick:.2f}",
            )
        )
    elif genre == "jazz-soul":
        checks.append(
            TargetCheck(
                f"jazz-soul: kick on all 4 beats ≤ {JAZZ_MAX_KICK_FOUR}",
                kick <= JAZZ_MAX_KICK_FOUR,
                f"{kick:.2f}",
            )
        )
    return checks


def fidelity_distance(samples: GrooveProfile, corpus: GrooveProfile) -> float:
    """One number for selecting weights: 0 when the samples play the corpus's groove.

    Sum of |model − corpus| over the three shares and bar similarity at lags 1 and 8, plus
    the share of samples whose hits/bar fall outside the corpus's range, plus the empty-bar
    share above the 5 % target, plus the relative error of the mean hits/bar. Every term is
    on a 0–1 scale, so no term dominates by its units.
    """
    outside = samples.tracks_outside(corpus.hits_per_bar_range()) / samples.num_tracks
    gaps = [
        abs(getattr(samples, name) - getattr(corpus, name))
        for name in (
            "kick_four_on_floor_share",
            "backbeat_share",
            "bar_similarity_1",
            "bar_similarity_8",
        )
    ]
    shares = sum(gap for gap in gaps if np.isfinite(gap))  # NaN: tracks too short for a lag
    density = abs(samples.hits_per_bar - corpus.hits_per_bar) / max(corpus.hits_per_bar, 1.0)
    empty = max(samples.empty_bar_share - MAX_EMPTY_BAR_SHARE, 0.0)
    return float(shares + outside + empty + min(density, 1.0))


def figure_label(name: str) -> str:
    """Table label of a figure name from `GrooveProfile.figures()`."""
    labels = dict(FIGURES)
    if name in labels:
        return labels[name]
    return name.replace("share_", "share ").replace("_", " ")


def fidelity_rows(samples: GrooveProfile, corpus: GrooveProfile) -> list[tuple[str, float, float]]:
    """`(figure label, model value, corpus value)` rows, per-class shares last."""
    rows = [(label, getattr(samples, name), getattr(corpus, name)) for name, label in FIGURES]
    rows += [
        (f"share {name}", model, reference)
        for name, model, reference in zip(
            DRUM_CLASS_NAMES, samples.class_shares, corpus.class_shares, strict=True
        )
    ]
    return [(label, float(model), float(reference)) for label, model, reference in rows]
