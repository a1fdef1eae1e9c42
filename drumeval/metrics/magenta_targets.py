"""Does a MusicVAE play like trained Magenta? Issue 29's targets, beside Magenta's own outputs.

Issue 18's targets (`fidelity.check_targets`) hold a checkpoint to its training corpus. These
hold a MusicVAE to what real Magenta's MusicVAE played for the thesis, so that a listening
study compares a trained DrumsRNN with a MusicVAE trained as far as Magenta's was, not with an
undertrained one. Same protocol (16 seeded 60-bar samples at temperature 1.0), same figures
(`fidelity.GrooveProfile.figures()`), absolute thresholds:

- the flat 60-bar model (`thesis-longbar`): no sample above `MAX_HITS_PER_BAR`, empty bars at
  most `MAX_EMPTY_BAR_SHARE`, the genre's kick (techno-house on all four ≥ 0.75, jazz-soul
  ≤ 0.2) and bar-to-bar similarity at least `MIN_BAR_SIMILARITY[genre]` — for techno-house
  about real Magenta's 0.63, for jazz-soul within 0.07 of our corpus (0.41–0.42: real
  drummers, less repetitive than the thesis's jazz MIDI, whose Magenta outputs sat at 0.58);
- the other MusicVAEs (`hier-60bar`, the 2-bar latent walk): no noise sample (the same two
  limits), genres apart (techno-house ≥ 0.7, jazz-soul ≤ 0.2) and bar similarity within
  `FLAT_TOLERANCE` of the flat model trained on the same corpus.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drumeval.errors import DrumevalError
from drumeval.metrics.fidelity import TargetCheck

GENRES = ("techno-house", "jazz-soul")
MAX_HITS_PER_BAR = 40.0
MAX_EMPTY_BAR_SHARE = 0.05
MIN_BAR_SIMILARITY = {"techno-house": 0.55, "jazz-soul": 0.35}
FLAT_TECHNO_MIN_KICK_FOUR = 0.75
OTHER_TECHNO_MIN_KICK_FOUR = 0.7
JAZZ_MAX_KICK_FOUR = 0.2
FLAT_TOLERANCE = 0.15


@dataclass(frozen=True)
class MagentaOutputs:
    """The same figures measured on the MIDI files real Magenta's MusicVAE produced for the
    thesis (`files` tracks; 60 bars, temperature 1.0)."""

    files: int
    hits_per_bar: float
    hits_per_bar_sd: float
    kick_four_on_floor_share: float
    backbeat_share: float
    bar_similarity_1: float
    bar_similarity_8: float


MAGENTA_THESIS_OUTPUTS: dict[str, MagentaOutputs] = {
    "techno-house": MagentaOutputs(40, 18.1, 6.8, 0.85, 0.31, 0.63, 0.63),
    "jazz-soul": MagentaOutputs(21, 12.2, 4.4, 0.03, 0.22, 0.58, 0.55),
}


def magenta_checks(
    figures: Mapping[str, float],
    hits_per_bar_per_track: Sequence[float],
    genre: str,
    *,
    flat_bar_similarity: float | None = None,
) -> list[TargetCheck]:
    """Issue 29's targets for one MusicVAE checkpoint's samples.

    `figures` are `GrooveProfile.figures()` (a card's `fidelity.model`), the per-track hits/bar
    its `model_hits_per_bar_per_sample`. Without `flat_bar_similarity` the checkpoint is held
    to the flat model's targets; with it (the flat model's bar similarity on the same corpus)
    to those of the other MusicVAEs.
    """
    if genre not in GENRES:
        raise DrumevalError(f"genre must be one of {GENRES}, got {genre!r}")
    if not hits_per_bar_per_track:
        raise DrumevalError("magenta_checks needs the hits/bar of at least one sample")
    densest = max(hits_per_bar_per_track)
    dense = sum(1 for hits in hits_per_bar_per_track if hits > MAX_HITS_PER_BAR)
    empty = figures["empty_bar_share"]
    kick = figures["kick_four_on_floor_share"]
    similarity = figures["bar_similarity_1"]
    checks = [
        TargetCheck(
            f"no sample above {MAX_HITS_PER_BAR:.0f} hits/bar",
            dense == 0,
            f"{dense}/{len(hits_per_bar_per_track)} above (densest {densest:.1f})",
        ),
        TargetCheck(
            f"empty bars ≤ {MAX_EMPTY_BAR_SHARE:.0%}", empty <= MAX_EMPTY_BAR_SHARE, f"{empty:.3f}"
        ),
    ]
    flat = flat_bar_similarity is None
    if genre == "techno-house":
        least = FLAT_TECHNO_MIN_KICK_FOUR if flat else OTHER_TECHNO_MIN_KICK_FOUR
        checks.append(TargetCheck(f"kick on all 4 beats ≥ {least}", kick >= least, f"{kick:.2f}"))
    else:
        checks.append(
            TargetCheck(
                f"kick on all 4 beats ≤ {JAZZ_MAX_KICK_FOUR}",
                kick <= JAZZ_MAX_KICK_FOUR,
                f"{kick:.2f}",
            )
        )
    if flat:
        least = MIN_BAR_SIMILARITY[genre]
        reference = MAGENTA_THESIS_OUTPUTS[genre].bar_similarity_1
        checks.append(
            TargetCheck(
                f"bar similarity ≥ {least}",
                similarity >= least,
                f"{similarity:.2f} (real Magenta's outputs {reference:.2f})",
            )
        )
    else:
        gap = abs(similarity - flat_bar_similarity)
        checks.append(
            TargetCheck(
                f"bar similarity within {FLAT_TOLERANCE} of the flat model's",
                gap <= FLAT_TOLERANCE,
                f"{similarity:.2f} vs {flat_bar_similarity:.2f}",
            )
        )
    return checks
