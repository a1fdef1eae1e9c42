"""What an evaluator reads: the criteria in the thesis's words, the scale, the questionnaire.

Kept as data in one module so the pages, the analysis and the exports use the same wording,
and a study's design can only name criteria that exist here.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    question: str
    definition: str


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "short_term_phrasing",
        "Short-term phrasing",
        "How well does the drumming vary over a few bars?",
        "Changes over a few bars that keep the listener interested: fills, variations, "
        "small surprises that still fit the groove.",
    ),
    Criterion(
        "long_term_phrasing",
        "Long-term phrasing",
        "How well is the whole track structured?",
        "Song structure over the whole track: build-ups, breakdowns and distinct sections, "
        "as in a real song. This needs the whole clip.",
    ),
    Criterion(
        "originality",
        "Originality",
        "How original does it sound?",
        "Its own character: it does not sound like a copy of a stock pattern looped over and over.",
    ),
    Criterion(
        "realism",
        "Realism",
        "How realistic does it sound?",
        "Correct rhythm and the stylistic conventions of its genre, as a drummer or producer "
        "would play or program it.",
    ),
)
CRITERION_KEYS = tuple(criterion.key for criterion in CRITERIA)

# The five-point scale as the thesis wrote it; stored as −2..+2.
SCALE: tuple[tuple[int, str], ...] = ((-2, "--"), (-1, "-"), (0, "0"), (1, "+"), (2, "++"))
SCALE_HELP = "-- very poor · - poor · 0 neutral · + good · ++ very good"

# A study's own criteria (`[[criteria]]` in its TOML) choose one of these scales.
LIKERT7: tuple[tuple[int, str], ...] = tuple((value, str(value)) for value in range(1, 8))
SLIDER_RANGE = (0, 100)
SCALES: dict[str, tuple[tuple[int, str], ...] | None] = {
    "symbols5": SCALE,  # −2…+2 shown as -- - 0 + ++
    "likert7": LIKERT7,  # 1…7
    "slider100": None,  # 0…100, starts unset: it counts only once it was moved
}


@dataclass(frozen=True)
class Question:
    """A study's own question: a criterion on a `scale`, or (`scale` = "choice") one of
    `options`. `key` names the answer in the database and the exports."""

    key: str
    label: str
    help: str = ""
    scale: str = "symbols5"
    options: tuple[str, ...] = ()
    required: bool = True

    def accepts(self, value: object) -> bool:
        """Whether `value` is an answer of this question (None: not answered)."""
        if self.scale == "choice":
            return value in self.options
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        choices = SCALES[self.scale]
        if choices is None:
            return SLIDER_RANGE[0] <= value <= SLIDER_RANGE[1]
        return value in {choice for choice, _ in choices}


GENRE_QUESTION = "Which genre is this?"
GENRE_DEFINITION = "Which genre it sounds like: techno-house or jazz-soul."
CANT_TELL = "cant_tell"  # no confidence is asked after this answer
GENRE_OPTIONS: tuple[tuple[str, str], ...] = (
    ("techno-house", "Techno / house"),
    ("jazz-soul", "Jazz / soul"),
    (CANT_TELL, "Can't tell"),
)
CONFIDENCE_OPTIONS = (1, 2, 3, 4, 5)
COMMENT_MAX_CHARS = 1000

QUESTIONNAIRE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "musical_experience",
        "How much musical training or experience do you have?",
        ("none", "less than 2 years", "2–5 years", "more than 5 years", "professional"),
    ),
    (
        "drum_experience",
        "Do you play drums or produce drum tracks / beats?",
        ("never", "a little", "regularly", "professionally"),
    ),
    (
        "listening_device",
        "What are you listening on right now?",
        (
            "over-ear headphones",
            "in-ear headphones / earbuds",
            "loudspeakers",
            "laptop or phone speakers",
        ),
    ),
)

# Time an evaluator needs besides listening, for the consent text's estimate.
RATING_SECONDS_PER_CLIP = 60  # the form, after the clip
QUESTIONNAIRE_SECONDS = 60
HEADPHONE_CHECK_SECONDS = 120
INSTRUCTIONS_SECONDS = 60


def expected_minutes(
    *, clip_seconds: list[float], headphone_tests: int, practice_seconds: float | None = None
) -> int:
    """The time a study takes an evaluator, rounded up: every clip heard to the end and rated,
    plus the questionnaire, each headphone test (0, 1, or 2 for `headphone_screen = "both"`)
    and the instructions (whole minutes; to the next 5 from 15 minutes on, where the estimate
    is rough anyway)."""
    heard = [*clip_seconds, *([] if practice_seconds is None else [practice_seconds])]
    seconds = sum(duration + RATING_SECONDS_PER_CLIP for duration in heard)
    seconds += QUESTIONNAIRE_SECONDS + INSTRUCTIONS_SECONDS
    seconds += HEADPHONE_CHECK_SECONDS * headphone_tests
    minutes = -(-int(seconds) // 60)
    return minutes if minutes < 15 else -(-minutes // 5) * 5


def default_consent_text(*, clips: int, practice: bool, minutes: int) -> str:
    """The consent text of a study that brings none, with its own clip count and duration."""
    plural = "clip" if clips == 1 else "clips"
    practice_note = " (after one practice clip)" if practice else ""
    return (
        "You are invited to a listening study on computer-generated drum tracks. You will "
        f"hear {clips} {plural}{practice_note} and rate each one; it takes about {minutes} "
        "minutes. Taking part is voluntary and you can stop at any time by closing the page.\n\n"
        "We store only your answers: your ratings, the questionnaire, how long you listened, "
        "and (if you came from a recruiting platform) the participant id it sent. We store no "
        "name, e-mail or IP address. Answers are analysed anonymously and may be published in "
        "aggregate.\n\n"
        "Please use headphones in a quiet place."
    )


# The fixed text every study created before the estimate stored as its own: read as "none".
FORMER_DEFAULT_CONSENT_TEXT = (
    "You are invited to a listening study on computer-generated drum tracks. You will hear "
    "about a dozen clips and rate each one; it takes about 30 minutes. Taking part is "
    "voluntary and you can stop at any time by closing the page.\n\n"
    "We store only your answers: your ratings, the questionnaire, how long you listened, and "
    "(if you came from a recruiting platform) the participant id it sent. We store no name, "
    "e-mail or IP address. Answers are analysed anonymously and may be published in aggregate.\n\n"
    "Please use headphones in a quiet place."
)

# Post-screening rules a study applies (`drumeval.analysis.screening` computes them): every
# one is on by default; a study's `screening_rules` may name fewer.
SCREENING_RULES = (
    "reference_low",
    "anchor_high",
    "headphone_check_failed",
    "did_not_listen",
    "gold_missed",
    "straight_lining",
)
