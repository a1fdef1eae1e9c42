"""The anti-phase headphone screening test of Woods, Siegel, Traer & McDermott (2017).

Each trial plays three 200 Hz tones and asks which one is quietest. One tone is really 6 dB
quieter; another is played with the right channel in anti-phase, which over loudspeakers
cancels acoustically and sounds quietest — a trap headphone listeners do not fall into.
Six trials, pass at five correct. Tones are made with numpy from a seed, so a participant
who reloads hears the same trials and the answer key never leaves the server.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from drumeval.errors import StudyError
from drumeval.study import huggins

SAMPLE_RATE = 22_050
TONE_HZ = 200.0
TONE_SECONDS = 1.0
RAMP_SECONDS = 0.1
GAP_SECONDS = 0.5
QUIET_DB = -6.0
LEVEL = 0.25  # the loud tones' peak: comfortable at a normal volume setting
TRIAL_SECONDS = 3 * TONE_SECONDS + 2 * GAP_SECONDS  # one sound, played to the end (both screens)
TRIALS = 6  # = len(ARRANGEMENTS)
PASS_MARK = 5


@dataclass(frozen=True)
class Trial:
    """One trial: which tone (0, 1, 2) is quieter and which is in anti-phase."""

    quiet_index: int
    antiphase_index: int

    @property
    def answer(self) -> int:
        return self.quiet_index


# Every way to place the quiet and the anti-phase tone on two of the three: six sounds.
ARRANGEMENTS = tuple(
    Trial(quiet, antiphase) for quiet in range(3) for antiphase in range(3) if quiet != antiphase
)


def make_trials(seed: int) -> tuple[Trial, ...]:
    """The six arrangements, each once, in a seeded order: no sound repeats (an attentive
    listener would notice), and the quiet and anti-phase tones never coincide (as in the
    paper)."""
    order = np.random.default_rng(seed).permutation(len(ARRANGEMENTS))
    return tuple(ARRANGEMENTS[index] for index in order)


def _tone() -> np.ndarray:
    time = np.arange(int(SAMPLE_RATE * TONE_SECONDS)) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * TONE_HZ * time)
    ramp = int(SAMPLE_RATE * RAMP_SECONDS)
    envelope = np.ones_like(tone)
    envelope[:ramp] = np.sin(np.linspace(0, np.pi / 2, ramp)) ** 2
    envelope[-ramp:] = envelope[:ramp][::-1]
    return tone * envelope


def trial_samples(trial: Trial) -> np.ndarray:
    """`[samples, 2]` float stereo: three tones separated by silence."""
    tone, gap = _tone(), np.zeros(int(SAMPLE_RATE * GAP_SECONDS))
    left, right = [], []
    for index in range(3):
        gain = LEVEL * (10 ** (QUIET_DB / 20) if index == trial.quiet_index else 1.0)
        sign = -1.0 if index == trial.antiphase_index else 1.0
        left += [gain * tone, gap]
        right += [sign * gain * tone, gap]
    return np.stack([np.concatenate(left[:-1]), np.concatenate(right[:-1])], axis=1)


@functools.cache
def trial_wav(trial: Trial) -> bytes:
    """The trial as 16-bit stereo WAV bytes (no metadata)."""
    from drumeval.audio.encode import wav_bytes

    return wav_bytes(trial_samples(trial), SAMPLE_RATE)


def score(trials: tuple[Trial, ...], answers: list[int | None]) -> tuple[int, bool]:
    """Number of correct answers (tone index of the quietest) and whether the listener passed."""
    correct = sum(
        1 for trial, answer in zip(trials, answers, strict=True) if answer == trial.quiet_index
    )
    return correct, correct >= PASS_MARK


# --- the study's screen: anti-phase, Huggins pitch or both ----------------------------------

SCREENS = ("antiphase", "huggins", "both")
DEFAULT_SCREEN = "antiphase"
ScreenTrial = Trial | huggins.HugginsTrial


@dataclass(frozen=True)
class Wording:
    """What the evaluator reads for one kind of trial."""

    test: str  # as stored with the participant's screening
    question: str  # "{number}" is the sound's number
    option: str  # each of the three answers: "{option} 1" …
    pass_mark: int
    short: str  # the export's column prefix (`drumeval.analysis.schema.HEADPHONE_TESTS`)


WORDING = {
    Trial: Wording(
        "woods2017-antiphase",
        "Which tone was quietest in sound {number}?",
        "Tone",
        PASS_MARK,
        "antiphase",
    ),
    huggins.HugginsTrial: Wording(
        "milne2021-huggins",
        "In which noise of sound {number} did you hear a faint tone?",
        "Noise",
        huggins.PASS_MARK,
        "huggins",
    ),
}


def check_screen(screen: object) -> str:
    if screen not in SCREENS:
        raise StudyError(f"headphone_screen must be one of {', '.join(SCREENS)}; got {screen!r}")
    return str(screen)


def test_count(screen: str) -> int:
    """How many tests a screen runs one after the other (`both`: anti-phase, then Huggins)."""
    return 2 if check_screen(screen) == "both" else 1


def screen_trials(screen: str, seed: int) -> tuple[ScreenTrial, ...]:
    """The trials of a study's screen, anti-phase ones first when it has both."""
    check_screen(screen)
    trials: tuple[ScreenTrial, ...] = ()
    if screen in ("antiphase", "both"):
        trials += make_trials(seed)
    if screen in ("huggins", "both"):
        trials += huggins.make_trials(seed)
    return trials


def screen_wav(trial: ScreenTrial) -> bytes:
    return trial_wav(trial) if isinstance(trial, Trial) else huggins.trial_wav(trial)


def screen_score(
    trials: tuple[ScreenTrial, ...], answers: list[int | None]
) -> tuple[dict[str, int], bool]:
    """Correct answers per test, and whether the listener passed every test of the screen
    (each at its own pass mark: 5 of 6 for both)."""
    correct: dict[str, int] = {}
    marks: dict[str, int] = {}
    for trial, answer in zip(trials, answers, strict=True):
        wording = WORDING[type(trial)]
        correct[wording.test] = correct.get(wording.test, 0) + (answer == trial.answer)
        marks[wording.test] = wording.pass_mark
    return correct, all(correct[test] >= marks[test] for test in correct)


def results_per_test(screening: Mapping[str, Any] | None) -> dict[str, tuple[int, bool]]:
    """Each test a participant took — by short name (`antiphase`, `huggins`) — with its
    correct answers and whether it passed at its own pass mark, read from the stored
    screening (`flow.submit_headphone_check`'s details). A "both" screen is passed only when
    both are, so the combined flag alone cannot say which test a listener failed.

    A screening stored with one test and no per-test counts reads from its total; one that
    names no test (nothing to attribute) gives {}."""
    screening = screening or {}
    counts = screening.get("correct_per_test")
    if counts is None and screening.get("test") and screening.get("correct") is not None:
        counts = {screening["test"]: screening["correct"]}
    by_test = {wording.test: wording for wording in WORDING.values()}
    return {
        by_test[test].short: (int(correct), int(correct) >= by_test[test].pass_mark)
        for test, correct in (counts or {}).items()
        if test in by_test
    }


def instructions(screen: str) -> str:
    """What the headphone-check page says before its sounds."""
    parts = ["Please put on your headphones and set a comfortable volume."]
    if screen in ("antiphase", "both"):
        parts.append(
            "Some sounds play **three tones**: choose the one that is **quietest**."
            if screen == "both"
            else "Each sound below plays **three tones**; choose the one that is **quietest**."
        )
    if screen in ("huggins", "both"):
        parts.append(
            "Some sounds play **three bursts of noise**: one of them has a **faint tone** in it; "
            "choose that one."
            if screen == "both"
            else "Each sound below plays **three bursts of noise**; one of them has a **faint "
            "tone** in it — choose that one."
        )
    parts.append("Play each sound to the end (once or twice) to answer it.")
    return " ".join(parts)
