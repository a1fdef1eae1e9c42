"""Song forms: a track planned as labelled sections with bar counts, and the per-step control
inputs a structure-aware model is conditioned on.

The thesis found both models weak on long-term phrasing: changes land "at arbitrary points".
Full-song models plan the form first and generate inside it, so a form is data here — a string
such as `intro:8 build:8 drop:16 breakdown:8 build:4 drop:12 outro:4` (60 bars) — that the
arranger baseline, the structure model and the structure measures all read the same way.

Forms come from genre presets (`FORM_PRESETS`) or from a corpus (`forms_from_corpus`): the
techno-house corpora carry the programmed arrangement of every track in `sections.json`; the
jazz-soul corpora (Groove MIDI performances) have no section labels, so their forms are 8-bar
phrases counted from the start of the source performance (label `phrase`). A labelled jazz form
comes from the section detector instead: `labelled_form` cuts a track at its detected section
changes and names the segments by clustering them (A → `head`, B → `solo`, further material
→ `trade`), so that a form drawn from the corpus has repeats to recall
(`drumeval.analysis.structure_eval.detected_form` runs the detector).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from drumeval.data.corpus import SECTIONS_FILE, Corpus, load_corpus
from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.errors import DatasetError, ParameterError

# Techno-house labels are the programmed corpus's (drumeval.data.programmed.SECTION_NAMES);
# jazz-soul forms use head/solo/trade; `phrase` labels the unlabelled 8-bar phrases of a corpus.
SECTION_LABELS: tuple[str, ...] = (
    "intro",
    "build",
    "drop",
    "breakdown",
    "outro",
    "head",
    "solo",
    "trade",
    "phrase",
)
LABEL_ALIASES: Mapping[str, str] = MappingProxyType({"break": "breakdown"})
PHRASE_LENGTHS_BARS: tuple[int, ...] = (4, 8, 16)
CORPUS_PHRASE_BARS = 8  # phrase length of the forms derived for corpora without labels
BOUNDARY_SCALE_BARS = 16  # bars-to-next-boundary is divided by this and capped at 1

# Share of 16th-note steps with at least one hit, per label. Techno-house labels: measured on
# the techno-house-700 train split with its sections.json; jazz labels: the jazz-soul-700 train
# split's overall 0.60 (it has no labels), a little sparser for intro/outro, denser for trades.
DEFAULT_SECTION_DENSITY: Mapping[str, float] = MappingProxyType(
    {
        "intro": 0.47,
        "build": 0.65,
        "drop": 0.90,
        "breakdown": 0.48,
        "outro": 0.62,
        "head": 0.60,
        "solo": 0.60,
        "trade": 0.70,
        "phrase": 0.60,
    }
)

# Labels of the segments `labelled_form` clusters, in order of first appearance: A, B, the rest.
DETECTED_LABELS: tuple[str, ...] = ("head", "solo", "trade")
# A segment recalls an earlier cluster when its mean bar similarity to that cluster's first
# segment reaches this share of their mean within-segment similarity. Chosen for jazz-soul (no
# true labels) on the first 200 train tracks of jazz-soul-700: 0.8 gives the largest gap between
# same- and different-label section similarity (0.100; 0.083 at 0.4) and an A/B in 167 of 200
# (at 0.4, 181 are one material). On techno-house-700, whose sections.json has the truth, the
# labels' adjusted Rand index is 0.30 at 0.8 (best 0.42 at 0.4): techno needs no detector.
RECALL_SHARE = 0.8
EDGE_BARS = 2  # a first / last segment this short is a pickup or an ending, not material

_TOKEN = re.compile(r"^([A-Za-z][A-Za-z-]*):(-?\d+)$")


@dataclass(frozen=True)
class Section:
    """One labelled span of a form (`bars` whole bars of 4/4)."""

    label: str
    bars: int

    def __post_init__(self) -> None:
        if self.label not in SECTION_LABELS:
            raise ParameterError(
                "form",
                f"has unknown section label {self.label!r}; use one of {', '.join(SECTION_LABELS)}",
            )
        if (
            isinstance(self.bars, bool)
            or not isinstance(self.bars, int | np.integer)
            or self.bars <= 0
        ):
            raise ParameterError(
                "form",
                f"section {self.label!r} needs a whole number of bars > 0, got {self.bars!r}",
            )


@dataclass(frozen=True)
class SongForm:
    """A track's plan: its sections in order, contiguous from bar 0."""

    sections: tuple[Section, ...]

    def __post_init__(self) -> None:
        if not self.sections:
            raise ParameterError("form", "must have at least one section")

    @property
    def total_bars(self) -> int:
        return sum(section.bars for section in self.sections)

    def start_bars(self) -> tuple[int, ...]:
        """The first bar of every section (the first is 0)."""
        starts = np.cumsum([0] + [section.bars for section in self.sections[:-1]])
        return tuple(int(start) for start in starts)

    def boundary_bars(self) -> tuple[int, ...]:
        """Bars where a section change is planned: the start of every section after the first."""
        return self.start_bars()[1:]

    def section_index_of_bar(self, bar: int) -> int:
        """Index of the section that bar `bar` (0-based) belongs to."""
        if not 0 <= bar < self.total_bars:
            raise ParameterError("bar", f"must be in [0, {self.total_bars}), got {bar}")
        return int(np.searchsorted(self.start_bars(), bar, side="right") - 1)

    def labels_per_bar(self) -> tuple[str, ...]:
        """The section label of each bar."""
        return tuple(section.label for section in self.sections for _ in range(section.bars))

    def previous_same_label(self, section_index: int) -> int | None:
        """Index of the latest earlier section with the same label (what a repeat recalls)."""
        label = self.sections[section_index].label
        earlier = [i for i in range(section_index) if self.sections[i].label == label]
        return earlier[-1] if earlier else None

    def to_text(self) -> str:
        """The form as `parse_form` reads it: `label:bars` tokens separated by spaces."""
        return " ".join(f"{section.label}:{section.bars}" for section in self.sections)


def parse_form(text: str) -> SongForm:
    """A form from `label:bars` tokens separated by spaces or commas (labels case-insensitive;
    `break` means `breakdown`). ParameterError names the offending token."""
    tokens = [token for token in re.split(r"[\s,]+", str(text).strip()) if token]
    if not tokens:
        raise ParameterError(
            "form", "is empty; write sections as label:bars, e.g. 'intro:8 drop:16'"
        )
    sections = []
    for token in tokens:
        match = _TOKEN.match(token)
        if match is None:
            raise ParameterError("form", f"token {token!r} is not label:bars (e.g. 'drop:16')")
        label = match.group(1).lower()
        sections.append(Section(LABEL_ALIASES.get(label, label), int(match.group(2))))
    return SongForm(tuple(sections))


FORM_PRESETS: Mapping[str, Mapping[str, SongForm]] = MappingProxyType(
    {
        "techno-house": MappingProxyType(
            {
                # The example: a longer second drop, a short outro.
                "peak-time": parse_form(
                    "intro:8 build:8 drop:16 breakdown:8 build:4 drop:12 outro:4"
                ),
                # The most common arrangement in techno-house-700 (130 of its 700 tracks).
                "corpus-common": parse_form(
                    "intro:8 build:8 drop:16 breakdown:8 build:4 drop:8 outro:8"
                ),
            }
        ),
        "jazz-soul": MappingProxyType(
            {
                "head-solo-head": parse_form("intro:4 head:16 solo:16 trade:8 head:12 outro:4"),
                "long-solo": parse_form("intro:4 head:16 solo:24 head:12 outro:4"),
            }
        ),
    }
)


def preset_form(genre: str, name: str) -> SongForm:
    """The preset `name` of `genre` (ParameterError lists what exists)."""
    if genre not in FORM_PRESETS:
        raise ParameterError("genre", f"must be one of {', '.join(FORM_PRESETS)}, got {genre!r}")
    presets = FORM_PRESETS[genre]
    if name not in presets:
        raise ParameterError("form preset", f"must be one of {', '.join(presets)}, got {name!r}")
    return presets[name]


def form_from_sections(sections: list[dict], start_bar: int, num_bars: int) -> SongForm:
    """The part of a `sections.json` arrangement inside bars [start_bar, start_bar + num_bars)."""
    end_bar = start_bar + num_bars
    cut = []
    for item in sections:
        first = max(item["start_bar"], start_bar)
        last = min(item["start_bar"] + item["num_bars"], end_bar)
        if last > first:
            cut.append(Section(LABEL_ALIASES.get(item["name"], item["name"]), last - first))
    if sum(section.bars for section in cut) != num_bars:
        raise DatasetError(f"sections do not cover bars {start_bar}–{end_bar} contiguously")
    return SongForm(tuple(cut))


def phrase_form(start_bar: int, num_bars: int, phrase_bars: int = CORPUS_PHRASE_BARS) -> SongForm:
    """`phrase` sections cut every `phrase_bars` bars counted from bar 0 of the source, for a
    window that starts at `start_bar` (the first and last phrase may be partial)."""
    cuts = [bar for bar in range(start_bar + 1, start_bar + num_bars) if bar % phrase_bars == 0]
    edges = [start_bar, *cuts, start_bar + num_bars]
    return SongForm(tuple(Section("phrase", b - a) for a, b in itertools.pairwise(edges)))


def labelled_form(
    boundaries: Sequence[int],
    similarity: np.ndarray,
    *,
    labels: Sequence[str] = DETECTED_LABELS,
    recall_share: float = RECALL_SHARE,
) -> SongForm:
    """A form from a track's detected section starts and its `[B, B]` bar self-similarity.

    The track is cut at `boundaries` into segments; each, in order, joins the earliest cluster
    whose first segment it resembles — mean similarity of their bar pairs at least
    `recall_share` × the mean of their within-segment similarities (off-diagonal; 1 for a
    one-bar segment) — or opens a new one. Cluster k is labelled `labels[k]` (the last label
    for every further cluster). Every detected change stays a section boundary, so A A B A
    is `head head solo head`: the second and the last head recall the one before. A first or
    last segment of at most `EDGE_BARS` bars around a body (a pickup, a final hit) is `intro` /
    `outro`.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    num_bars = len(similarity)
    if similarity.shape != (num_bars, num_bars) or num_bars == 0:
        raise ParameterError(
            "similarity", f"must be a non-empty square matrix, got {similarity.shape}"
        )
    edges = [0, *(int(bar) for bar in boundaries), num_bars]
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise ParameterError(
            "boundaries", f"must increase strictly inside (0, {num_bars}), got {list(boundaries)}"
        )
    segments = [slice(a, b) for a, b in itertools.pairwise(edges)]

    def within(segment: slice) -> float:
        block = similarity[segment, segment]
        size = len(block)
        return float((block.sum() - np.trace(block)) / (size * (size - 1))) if size > 1 else 1.0

    leaders: list[slice] = []
    sections: list[Section] = []
    for index, segment in enumerate(segments):
        bars = segment.stop - segment.start
        edge = {0: "intro", len(segments) - 1: "outro"}.get(index)
        if edge and bars <= EDGE_BARS and len(segments) > 2:
            sections.append(Section(edge, bars))
            continue
        cluster = next(
            (
                k
                for k, leader in enumerate(leaders)
                if similarity[segment, leader].mean()
                >= recall_share * (within(segment) + within(leader)) / 2
            ),
            None,
        )
        if cluster is None:
            leaders.append(segment)
            cluster = len(leaders) - 1
        sections.append(Section(labels[min(cluster, len(labels) - 1)], bars))
    return SongForm(tuple(sections))


def example_forms(corpus: Corpus, sections: list[dict] | None) -> tuple[SongForm, ...]:
    """One form per corpus example, in corpus order: its labelled arrangement when the corpus
    has `sections` (one entry per source, indexed like the manifest's sources), else its
    8-bar phrases by position in the source."""
    if corpus.source_index is None or corpus.start_bar is None:
        raise DatasetError(f"corpus {corpus.name} lacks source_index/start_bar; rebuild it")
    bars = corpus.lengths // STEPS_PER_BAR
    if sections is None:
        return tuple(
            phrase_form(int(start), int(n)) for start, n in zip(corpus.start_bar, bars, strict=True)
        )
    return tuple(
        form_from_sections(sections[int(source)]["sections"], int(start), int(n))
        for source, start, n in zip(corpus.source_index, corpus.start_bar, bars, strict=True)
    )


def read_sections(corpus_dir: str | Path) -> list[dict] | None:
    """The corpus's `sections.json` (one arrangement per source), or None when it has none."""
    path = Path(corpus_dir) / SECTIONS_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} is unreadable ({error}); rebuild the corpus") from error


def forms_from_corpus(corpus_dir: str | Path) -> tuple[SongForm, ...]:
    """One form per example of the corpus at `corpus_dir` (see `example_forms`): techno-house
    from ground-truth section labels, jazz-soul from 8-bar phrase positions."""
    return example_forms(load_corpus(corpus_dir), read_sections(corpus_dir))


# ------------------------------------------------------------------ per-step control inputs


def control_feature_names(steps_per_bar: int = STEPS_PER_BAR) -> tuple[str, ...]:
    """The name of every column of `control_features`, in order."""
    return (
        *(f"step_in_bar_{step}" for step in range(steps_per_bar)),
        *(f"position_in_{bars}_bar_phrase" for bars in PHRASE_LENGTHS_BARS),
        *(f"label_{label}" for label in SECTION_LABELS),
        "bars_to_next_boundary",
        "section_progress",
        "target_density",
        "is_repeat",
    )


CONTROL_FEATURES = len(control_feature_names())  # 32 columns at 16 steps per bar


def repeat_source_steps(form: SongForm, steps_per_bar: int = STEPS_PER_BAR) -> np.ndarray:
    """`[steps]` int: for each step of a repeated section, the step at the same offset in the
    latest earlier section with the same label (−1 where there is none, or where the earlier
    section is shorter) — the context a copy-or-vary repeat recalls."""
    source = np.full(form.total_bars * steps_per_bar, -1, dtype=np.int64)
    starts = form.start_bars()
    for index, section in enumerate(form.sections):
        earlier = form.previous_same_label(index)
        if earlier is None:
            continue
        overlap = min(section.bars, form.sections[earlier].bars) * steps_per_bar
        begin = starts[index] * steps_per_bar
        source[begin : begin + overlap] = starts[earlier] * steps_per_bar + np.arange(overlap)
    return source


def control_features(
    form: SongForm,
    steps_per_bar: int = STEPS_PER_BAR,
    densities: Mapping[str, float] | None = None,
) -> np.ndarray:
    """`[steps, CONTROL_FEATURES]` float32 control inputs, one row per step of the form.

    Columns (`control_feature_names`): one-hot step within the bar (`steps_per_bar`); position
    in the current 4-, 8- and 16-bar phrase as a fraction in [0, 1), phrases counted from the
    section's start; one-hot section label (`SECTION_LABELS`); steps to the next section start
    (or the end) in units of 16 bars, capped at 1; fraction of the section elapsed; the
    section's target density (share of steps with a hit, `densities` or
    `DEFAULT_SECTION_DENSITY`); 1 where `repeat_source_steps` points into an earlier
    same-label section, else 0.
    """
    densities = DEFAULT_SECTION_DENSITY if densities is None else densities
    missing = sorted({s.label for s in form.sections} - set(densities))
    if missing:
        raise ParameterError("densities", f"has no target density for {', '.join(missing)}")
    step_counts = [section.bars * steps_per_bar for section in form.sections]

    def per_step(values: list) -> np.ndarray:
        return np.repeat(np.asarray(values), step_counts)

    starts = per_step([start * steps_per_bar for start in form.start_bars()])
    lengths = per_step(step_counts)
    labels = per_step([SECTION_LABELS.index(section.label) for section in form.sections])
    target = per_step([float(densities[section.label]) for section in form.sections])
    num_steps = form.total_bars * steps_per_bar
    step = np.arange(num_steps)
    offset = step - starts
    phrase_positions = [
        (offset % (bars * steps_per_bar)) / (bars * steps_per_bar) for bars in PHRASE_LENGTHS_BARS
    ]
    to_boundary = (starts + lengths - step) / (BOUNDARY_SCALE_BARS * steps_per_bar)
    return np.column_stack(
        [
            np.eye(steps_per_bar)[step % steps_per_bar],
            *phrase_positions,
            np.eye(len(SECTION_LABELS))[labels],
            np.minimum(to_boundary, 1.0),
            offset / lengths,
            target,
            repeat_source_steps(form, steps_per_bar) >= 0,
        ]
    ).astype(np.float32)
