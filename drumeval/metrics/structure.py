"""Long-term structure of a drum track: self-similarity by bar distance, phrase structure and
detected section changes.

The thesis found both models weak on long-term phrasing (Table 1: `-`). Human-made tracks
repeat material every 4, 8 or 16 bars and change section on those boundaries; these
functions measure both. Bar similarity is `drumeval.metrics.groove.bar_similarity` (Jaccard
of the onset sets of two bars, two empty bars count as identical) — one definition for the
whole package.

Against a planned `SongForm` (`drumeval.data.forms`): do detected section changes land on the
planned boundaries (`planned_boundary_counts`), are repeats of a label closer than different
sections (`same_vs_different_label_similarity`), and is the bar line kept (`backbeat_shares`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from drumeval.data.forms import SongForm
from drumeval.errors import DrumevalError
from drumeval.metrics import bar_self_similarity, bars
from drumeval.metrics.groove import backbeat_share, bar_similarity, shifted_backbeat_share

MAX_LAG_BARS = 16
PHRASE_BARS = (4, 8, 16)
# Section detector settings, chosen on the first 150 train tracks of techno-house-700 (see
# `drumeval.analysis.objective_run.validate_section_detector` for the held-out F1).
NOVELTY_HALF_WIDTH_BARS = 2
NOVELTY_THRESHOLD = 0.2
MIN_SECTION_BARS = 3
PLANNED_TOLERANCE_BARS = 1


def self_similarity_curve(event_ids: np.ndarray, max_lag: int = MAX_LAG_BARS) -> np.ndarray:
    """`[max_lag]` s(ℓ) = mean Jaccard similarity of bars ℓ apart, for ℓ = 1 … max_lag.

    NaN at lags the track is too short for. A loop gives a flat curve near 1; phrased music
    peaks at 4, 8 and 16; music without memory decays to the chance level.
    """
    return np.array([bar_similarity(event_ids, lag) for lag in range(1, max_lag + 1)])


def phrase_structure(event_ids: np.ndarray, phrase_bars: tuple[int, ...] = PHRASE_BARS) -> float:
    """Long-term phrasing: mean of s(ℓ) at phrase lags minus mean of s(ℓ) at the other lags.

    With s the self-similarity curve over ℓ = 1 … 16 (lags the track is long enough for),
    mean_{ℓ ∈ phrase_bars} s(ℓ) − mean_{ℓ ∉ phrase_bars} s(ℓ). Positive when bars recur at
    4/8/16-bar distances more than at others, i.e. the track is built in phrases; 0 when
    either set of lags is empty.
    """
    curve = self_similarity_curve(event_ids)
    lags = np.arange(1, len(curve) + 1)
    known = ~np.isnan(curve)
    on_phrase = np.isin(lags, phrase_bars) & known
    off_phrase = ~np.isin(lags, phrase_bars) & known
    if not on_phrase.any() or not off_phrase.any():
        return 0.0
    return float(curve[on_phrase].mean() - curve[off_phrase].mean())


def section_novelty(
    event_ids: np.ndarray, half_width_bars: int = NOVELTY_HALF_WIDTH_BARS
) -> np.ndarray:
    """`[B]` Foote novelty n(b) of a section change *before* bar b (n(0) = 0).

    With S the bar self-similarity matrix, P = the `half_width_bars` bars before b and
    F = as many bars from b on (cut at the track's ends):
    n(b) = ½ (mean S[P, P] + mean S[F, F]) − mean S[P, F] — high when each side is
    self-consistent but unlike the other (Foote 2000, checkerboard kernel).
    """
    similarity = bar_self_similarity(event_ids)
    num_bars = len(similarity)
    novelty = np.zeros(num_bars)
    for bar in range(1, num_bars):
        past = slice(max(0, bar - half_width_bars), bar)
        future = slice(bar, min(num_bars, bar + half_width_bars))
        within = (similarity[past, past].mean() + similarity[future, future].mean()) / 2
        novelty[bar] = within - similarity[past, future].mean()
    return novelty


def section_boundaries(
    event_ids: np.ndarray,
    *,
    threshold: float = NOVELTY_THRESHOLD,
    half_width_bars: int = NOVELTY_HALF_WIDTH_BARS,
    min_section_bars: int = MIN_SECTION_BARS,
) -> list[int]:
    """Bars where a new section starts: peaks of `section_novelty` at least `threshold` high
    and the highest within ±`min_section_bars` bars (the first of equal peaks wins)."""
    novelty = section_novelty(event_ids, half_width_bars)
    boundaries = []
    for bar in range(1, len(novelty)):
        window = novelty[max(1, bar - min_section_bars) : bar + min_section_bars + 1]
        if novelty[bar] >= threshold and novelty[bar] == window.max():
            if boundaries and bar - boundaries[-1] <= min_section_bars:
                continue
            boundaries.append(bar)
    return boundaries


def boundary_alignment(
    boundaries: Sequence[int], phrase_bars: tuple[int, ...] = PHRASE_BARS
) -> dict[int, float]:
    """Per phrase length p: the share of `boundaries` on a multiple of p bars (NaN if none).

    Chance levels are 1/p (0.25, 0.125, 0.0625); hand-made techno/house sits near 1.
    """
    bars = np.asarray(boundaries)
    return {p: float((bars % p == 0).mean()) if len(bars) else float("nan") for p in phrase_bars}


def boundary_f1(
    detected: Iterable[int], truth: Iterable[int], tolerance_bars: int = 0
) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of detected vs true boundaries.

    Each true boundary matches at most one detection within ±`tolerance_bars` (greedy, in
    order). F1 = 2·tp / (2·tp + fp + fn) over a whole corpus: `f1_score(*sums)`.
    """
    unmatched = sorted(set(truth))
    true_positives = 0
    for bar in sorted(set(detected)):
        match = next((t for t in unmatched if abs(t - bar) <= tolerance_bars), None)
        if match is not None:
            unmatched.remove(match)
            true_positives += 1
    false_positives = len(set(detected)) - true_positives
    return true_positives, false_positives, len(unmatched)


def f1_score(true_positives: int, false_positives: int, false_negatives: int) -> float:
    """2·tp / (2·tp + fp + fn); 1 when there was nothing to find and nothing was found."""
    denominator = 2 * true_positives + false_positives + false_negatives
    return 2 * true_positives / denominator if denominator else 1.0


def _check_form_fits(event_ids: np.ndarray, form: SongForm) -> None:
    """A form-based measure compares bar for bar: the track must have the form's bars."""
    num_bars = len(bars(event_ids))
    if num_bars != form.total_bars:
        raise DrumevalError(
            f"the track has {num_bars} whole bars but the form {form.to_text()!r} "
            f"has {form.total_bars}"
        )


def planned_boundary_counts(
    event_ids: np.ndarray, form: SongForm, tolerance_bars: int = PLANNED_TOLERANCE_BARS
) -> tuple[int, int, int]:
    """(tp, fp, fn) of the detected section changes (`section_boundaries`) against the
    form's planned boundaries, each matched within ±`tolerance_bars` (`boundary_f1`). Sum
    them over tracks and take `f1_score` for a model-wide figure."""
    _check_form_fits(event_ids, form)
    return boundary_f1(section_boundaries(event_ids), form.boundary_bars(), tolerance_bars)


def planned_boundary_f1(
    event_ids: np.ndarray, form: SongForm, tolerance_bars: int = PLANNED_TOLERANCE_BARS
) -> float:
    """F1 of one track's section changes against its planned boundaries: 2·tp / (2·tp + fp +
    fn) of `planned_boundary_counts`. 1 when changes fall exactly where planned (±tolerance),
    low when they happen "at arbitrary points" (the thesis's complaint)."""
    return f1_score(*planned_boundary_counts(event_ids, form, tolerance_bars))


def same_vs_different_label_similarity(
    event_ids: np.ndarray, form: SongForm
) -> tuple[float, float]:
    """(same, different): mean similarity of section pairs that share a label, and of pairs
    that do not.

    The similarity of two sections A and B is the mean Jaccard similarity of their bars'
    onset sets over all bar pairs (a ∈ A, b ∈ B), from `bar_self_similarity`; each pair of
    distinct sections counts once. A track that recalls "drop" 1 in "drop" 2 has same >
    different. NaN for a kind of pair the form does not have (e.g. no label recurs).
    """
    _check_form_fits(event_ids, form)
    similarity = bar_self_similarity(event_ids)
    spans = [
        slice(start, start + section.bars)
        for start, section in zip(form.start_bars(), form.sections, strict=True)
    ]
    same, different = [], []
    for first, second in itertools.combinations(range(len(form.sections)), 2):
        mean = float(similarity[spans[first], spans[second]].mean())
        labels_match = form.sections[first].label == form.sections[second].label
        (same if labels_match else different).append(mean)
    return (
        float(np.mean(same)) if same else float("nan"),
        float(np.mean(different)) if different else float("nan"),
    )


def backbeat_shares(event_ids: np.ndarray) -> tuple[float, float]:
    """(share of bars with a snare on beats 2 & 4, share with a snare on 1 & 3): a model that
    keeps the bar line plays the first far more often (`groove.backbeat_share` and
    `groove.shifted_backbeat_share`)."""
    return backbeat_share(event_ids), shifted_backbeat_share(event_ids)
