"""Syncopation: how often hits fall just before a stronger beat that is left silent.

Jazz and soul grooves anticipate beats; programmed techno keeps its kick on them. The
measure is Longuet-Higgins & Lee's (1984), applied to each drum class as its own voice,
after Witek et al. (2014, *Syncopation, body-movement and pleasure in groove music*) — the
polyphonic drum-pattern form used in groove research.
"""

import numpy as np

from drumeval.data.drum_classes import NUM_DRUM_CLASSES, STEPS_PER_BAR
from drumeval.data.encoding import event_ids_to_rolls
from drumeval.metrics import bars

# Metrical weight of each 16th step in a 4/4 bar (LHL): bar 0, half bar −1, beats −2,
# 8ths −3, 16ths −4.
METRICAL_WEIGHTS = np.array([0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4])


def _strongest_rest_table() -> np.ndarray:
    """`[16, 17]` max weight of the steps a+1 … a+L after step a (mod 16), −∞ for L = 0."""
    table = np.full((STEPS_PER_BAR, STEPS_PER_BAR + 1), -np.inf)
    for step in range(STEPS_PER_BAR):
        following = np.resize(np.roll(METRICAL_WEIGHTS, -step - 1), STEPS_PER_BAR)
        table[step, 1:] = np.maximum.accumulate(following)
    return table


def syncopation(event_ids: np.ndarray) -> float:
    """Mean LHL syncopation per hit, each drum class a separate voice.

    A hit of class k at step i with weight w(i) sounds until the next hit of class k (or the
    end of the track); if a silent step j in between is metrically stronger, the hit
    syncopates by max_j w(j) − w(i). The score is Σ over classes and hits of that amount /
    number of hits (0 without hits). 0 for a four-on-the-floor kick; an off-beat open hat
    ringing until the next one scores 1 (over a beat), 2 (over the half bar) or 3 (over the
    bar line) per hit.
    """
    rolls = event_ids_to_rolls(bars(event_ids)).reshape(-1, NUM_DRUM_CLASSES).astype(bool)
    steps, classes = np.nonzero(rolls.T)[::-1]  # hits ordered by class, then step
    if not len(steps):
        return 0.0
    following = np.append(steps[1:], len(rolls))
    last_of_class = np.append(classes[1:] != classes[:-1], True)
    following[last_of_class] = len(rolls)
    rests = np.minimum(following - steps - 1, STEPS_PER_BAR)  # ≥ 16 silent steps hold a bar line
    strongest = _strongest_rest_table()[steps % STEPS_PER_BAR, rests]
    amounts = np.maximum(strongest - METRICAL_WEIGHTS[steps % STEPS_PER_BAR], 0)
    return float(amounts.sum() / len(steps))
