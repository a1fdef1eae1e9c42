"""The training-free arranger: a baseline that fills a song form with material retrieved from
a training corpus, section by section.

A structure-aware model has to beat this to show that it learnt structure rather than
borrowed it. For each planned section the arranger takes a run of consecutive bars from one
training example: a section with the same label (techno-house, from `sections.json`) or, in a
corpus without labels (jazz-soul), a run that starts on an 8-bar phrase boundary of its
source performance — retrieval by phrase position. A section whose label recurs copies the
earlier one and swaps some phrase-end bars (where fills go) for those of a freshly retrieved
run: "drop" 2 recalls "drop" 1 with small variation. Only the train split is used, so the
novelty measures show how much of the training data it copies, never the eval split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumeval.data.corpus import load_corpus, resolve_corpus_dir
from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.data.forms import CORPUS_PHRASE_BARS, SongForm, example_forms, read_sections
from drumeval.errors import DatasetError, ParameterError

PHRASE_LABEL = "phrase"  # the label of corpora without section labels (`forms.phrase_form`)
VARY_PROBABILITY = 0.5  # chance that a phrase-end bar of a repeat is swapped for a fresh one
VARY_EVERY_BARS = 4  # phrase-end bars of a repeat: offsets 3, 7, 11, … and the section's last


@dataclass(frozen=True)
class Span:
    """A run of consecutive bars of one training example the arranger may copy from."""

    example: int
    start_bar: int
    bars: int


@dataclass(frozen=True)
class ArrangerPool:
    """The train split as bars, and the spans it offers per section label."""

    bars: np.ndarray  # [N, max bars, 16] event ids
    spans: Mapping[str, tuple[Span, ...]]

    def spans_for(self, label: str) -> tuple[Span, ...]:
        """Spans of `label`, or of phrase positions in a corpus without section labels."""
        if label in self.spans:
            return self.spans[label]
        if PHRASE_LABEL in self.spans:
            return self.spans[PHRASE_LABEL]
        raise ParameterError(
            "form",
            f"has label {label!r} but the corpus has only {', '.join(sorted(self.spans))}",
        )


def build_pool(
    event_ids: np.ndarray, lengths: np.ndarray, forms: Sequence[SongForm]
) -> ArrangerPool:
    """A pool from training examples `[N, T]`, their lengths in steps and their forms.

    A labelled section is one span. A `phrase` section is the start of a span that runs to
    the end of its example, when it begins on a phrase boundary (every phrase but a partial
    first one), so a long planned section can take consecutive phrases of one performance.
    """
    if not len(forms):
        raise DatasetError("the arranger needs at least one training example")
    num_bars = np.asarray(lengths) // STEPS_PER_BAR
    as_bars = np.asarray(event_ids, dtype=np.int32)[:, : num_bars.max() * STEPS_PER_BAR]
    spans: dict[str, list[Span]] = {}
    for example, form in enumerate(forms):
        for index, (start, section) in enumerate(
            zip(form.start_bars(), form.sections, strict=True)
        ):
            if section.label != PHRASE_LABEL:
                spans.setdefault(section.label, []).append(Span(example, start, section.bars))
            elif index > 0 or section.bars >= CORPUS_PHRASE_BARS:
                run = int(num_bars[example]) - start
                spans.setdefault(PHRASE_LABEL, []).append(Span(example, start, run))
    return ArrangerPool(
        bars=as_bars.reshape(len(as_bars), -1, STEPS_PER_BAR),
        spans={label: tuple(found) for label, found in spans.items()},
    )


def pool_from_corpus(name_or_dir: str | Path) -> ArrangerPool:
    """The pool of a corpus's train split (eval examples are never retrieved)."""
    directory = resolve_corpus_dir(name_or_dir)
    corpus = load_corpus(directory)
    forms = example_forms(corpus, read_sections(directory))
    train = np.flatnonzero(~corpus.is_eval)
    return build_pool(
        corpus.event_ids[train], corpus.lengths[train], [forms[index] for index in train]
    )


def _retrieve(pool: ArrangerPool, label: str, bars: int, rng: np.random.Generator) -> np.ndarray:
    """`[bars, 16]` from one random span of `label`, preferring spans long enough; a shorter
    span is continued by looping its last 4-bar phrase."""
    spans = pool.spans_for(label)
    long_enough = [span for span in spans if span.bars >= bars]
    candidates = long_enough or spans
    span = candidates[rng.integers(len(candidates))]
    source = pool.bars[span.example, span.start_bar : span.start_bar + span.bars]
    if span.bars >= bars:
        return source[:bars].copy()
    loop_start = max(0, span.bars - VARY_EVERY_BARS)
    looped = np.resize(source[loop_start:], (bars - span.bars, STEPS_PER_BAR))
    return np.concatenate([source, looped])


def arrange(
    form: SongForm,
    pool: ArrangerPool,
    rng: np.random.Generator,
    *,
    vary_probability: float = VARY_PROBABILITY,
) -> np.ndarray:
    """`[form.total_bars · 16]` int32 event ids: the form filled section by section."""
    if not 0.0 <= vary_probability <= 1.0:
        raise ParameterError("vary_probability", f"must be in [0, 1], got {vary_probability}")
    filled: list[np.ndarray] = []
    for index, section in enumerate(form.sections):
        fresh = _retrieve(pool, section.label, section.bars, rng)
        earlier = form.previous_same_label(index)
        if earlier is not None:
            kept = min(section.bars, form.sections[earlier].bars)
            repeat = fresh.copy()
            repeat[:kept] = filled[earlier][:kept]
            offsets = np.arange(kept)
            phrase_end = (offsets % VARY_EVERY_BARS == VARY_EVERY_BARS - 1) | (
                offsets == section.bars - 1
            )
            vary = phrase_end & (rng.random(kept) < vary_probability)
            repeat[:kept][vary] = fresh[:kept][vary]
            fresh = repeat
        filled.append(fresh)
    return np.concatenate(filled).reshape(-1).astype(np.int32)


def arrange_tracks(
    form: SongForm, pool: ArrangerPool, *, num: int = 1, seed: int = 0
) -> np.ndarray:
    """`[num, steps]` int32 tracks, like the models' samplers: the same seed gives the same
    tracks."""
    if num < 1:
        raise ParameterError("num", f"must be at least 1, got {num}")
    rng = np.random.default_rng(seed)
    return np.stack([arrange(form, pool, rng) for _ in range(num)])
