"""Setting up a study: a TOML config in, a validated design and a draft study out.

A study is described by one small TOML file (or the admin page's form, which writes the same
text). The text is stored verbatim with the study (`studies.config_text`), and clip selection
is a seeded function of the config and the pool's content (clips ordered by MIDI hash, never
by insertion order), so the same config over the same pool recreates the same study.

    title = "DrumsRNN vs MusicVAE"
    slug = "drums-2026"
    seed = 7
    conditions = ["drums_rnn/thesis/techno-house-700/t1/60bars", "music_vae/…/60bars"]
    clips_per_condition = 2
    clips_per_participant = 6
    references = 1          # human references per corpus of the conditions
    anchors = 1             # low anchors per corpus of the conditions
    practice = true         # one practice clip before the rated ones
    min_listen_seconds = 60 # optional; default: the whole clip less 5 s
    headphone_check = true
    headphone_screen = "antiphase"  # or "huggins", or "both" (each passed at 5 of 6)
    consent_text = "…"
    completion_url = "https://app.prolific.com/submissions/complete?cc=ABC"
    completion_code = "ABC"
"""

import json
import math
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlparse

import numpy as np
from sqlalchemy.engine import Engine

from db import repository
from db.engine import transaction

# Re-exported: the researcher pages reach the database's limits through this module.
from db.models import DEFAULT_GRACE_MINUTES as DEFAULT_GRACE_MINUTES
from db.models import MAX_GRACE_MINUTES as MAX_GRACE_MINUTES
from drumeval.errors import StudyError
from drumeval.study.assignment import DEFAULT_ADAPTIVE_BURN_IN
from drumeval.study.content import SCALES, Question
from drumeval.study.flow import SLUG_PATTERN as SLUG_PATTERN
from drumeval.study.pool import (
    anchor_name,
    gold_name,
    parse_condition_name,
    practice_name,
    reference_name,
)

MAX_CONFIG_CHARS = 20_000
MAX_CONSENT_CHARS = 5_000
MAX_CLIPS_PER_PARTICIPANT = 100
KNOWN_KEYS = (
    "title",
    "public_title",
    "slug",
    "seed",
    "conditions",
    "clips_per_condition",
    "clips_per_participant",
    "references",
    "anchors",
    "gold",
    "practice",
    "min_listen_seconds",
    "headphone_check",
    "headphone_screen",
    "consent_text",
    "completion_url",
    "completion_code",
    "screened_out_code",
    "returned_code",
    "participant_target",
    "abandon_minutes",
    "screening_rules",
    "trial_type",
    "trials_per_participant",
    "reason",
    "adaptive",
    "adaptive_burn_in",
    "excerpt_bars",
    "criteria",
    "questions",
)
TRIAL_TYPES = ("rating", "pairwise", "mushra")
# Keys only a rating study takes (a pairwise or MUSHRA study counts pages instead).
RATING_ONLY_KEYS = ("clips_per_participant", "gold", "practice")
_TABLE_KEYS = ("criteria", "questions")  # arrays of tables: written after the flat keys
REASON_MODES = ("optional", "required", "none")  # pairwise: the free-text "why?"
MAX_TRIALS_PER_PARTICIPANT = 100
_ADAPTIVE_KEYS = ("adaptive", "adaptive_burn_in")  # pairwise only
MAX_ADAPTIVE_BURN_IN = 10_000


class StudyConfigError(StudyError):
    """A study config is invalid; `field` names the key to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"study config, `{field}`: {message}")
        self.field = field


@dataclass(frozen=True)
class StudyConfig:
    """A validated study config (what the TOML says, checked)."""

    title: str  # the researcher's name for the study
    slug: str
    conditions: tuple[str, ...]
    clips_per_condition: int
    clips_per_participant: int
    seed: int = 0
    references: int = 1
    anchors: int = 1
    gold: int = 0  # gold clips per corpus (each participant rates one, at a random position)
    practice: bool = True
    min_listen_seconds: float | None = None
    headphone_check: bool = True
    headphone_screen: str = "antiphase"  # antiphase, huggins or both (drumeval.study.headphone)
    consent_text: str | None = None  # None: derived from the design (content.py)
    completion_url: str | None = None
    completion_code: str | None = None
    public_title: str | None = None  # what evaluators see (default: the title)
    screening_rules: tuple[str, ...] | None = None  # None: every rule (analysis.screening)
    screened_out_code: str | None = None  # Prolific: failed the headphone check, declined
    returned_code: str | None = None  # Prolific: left, or their place was released
    participant_target: int | None = None  # new starts stop when reached
    abandon_minutes: int | None = None  # inactive this long: the place is released
    trial_type: str = "rating"  # TRIAL_TYPES
    trials_per_participant: int | None = None  # pairwise and mushra: pages per participant
    reason: str = "optional"  # pairwise: REASON_MODES
    adaptive: bool = False  # pairwise: pages toward uncertain pairs (assignment.plan_pairs)
    adaptive_burn_in: int | None = None  # adaptive: votes per pair first (None: not adaptive)
    excerpt_bars: tuple[int, int] | None = None  # bars [first, last] cut from each clip
    # rating: the study's own criteria and categorical questions (None: the thesis's form)
    criteria: tuple[Question, ...] | None = None

    def design(self) -> dict[str, Any]:
        """The design JSON the evaluator flow and the assignment read."""
        by_type: dict[str, Any] = {}
        if self.trial_type != "rating":
            by_type = {"trials_per_participant": self.trials_per_participant}
        if self.trial_type == "pairwise":
            by_type["reason"] = self.reason
            by_type["adaptive"] = self.adaptive
            if self.adaptive:
                by_type["adaptive_burn_in"] = self.adaptive_burn_in
        if self.excerpt_bars is not None:
            by_type["excerpt_bars"] = list(self.excerpt_bars)
        if self.criteria is not None:
            by_type["criteria"] = [asdict(question) for question in self.criteria]
        return {
            "trial_type": self.trial_type,
            **by_type,
            "clips_per_participant": self.clips_per_participant,
            "min_listen_seconds": self.min_listen_seconds,
            "headphone_check": self.headphone_check,
            "headphone_screen": self.headphone_screen,
            "consent_text": self.consent_text,
            "completion_url": self.completion_url,
            "completion_code": self.completion_code,
            "screened_out_code": self.screened_out_code,
            "returned_code": self.returned_code,
            "seed": self.seed,
            "conditions": list(self.conditions),
            "clips_per_condition": self.clips_per_condition,
            "references": self.references,
            "anchors": self.anchors,
            "gold": self.gold,
            "practice": self.practice,
            **(
                {"screening_rules": list(self.screening_rules)}
                if self.screening_rules is not None
                else {}
            ),
        }


def _whole(
    values: Mapping[str, Any], key: str, *, low: int, high: int, default: int | None = None
) -> int:
    value = values.get(key, default)
    if value is None:
        raise StudyConfigError(key, "is missing")
    if not isinstance(value, int) or isinstance(value, bool):
        raise StudyConfigError(key, f"must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise StudyConfigError(key, f"must be between {low} and {high}; got {value}")
    return value


def _optional_whole(values: Mapping[str, Any], key: str, *, low: int, high: int) -> int | None:
    return None if values.get(key) is None else _whole(values, key, low=low, high=high)


def _text(
    values: Mapping[str, Any], key: str, *, max_chars: int, default: str | None = None
) -> str | None:
    value = values.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise StudyConfigError(key, f"must be text in quotes, not {value!r}")
    value = value.strip()
    if len(value) > max_chars:
        raise StudyConfigError(key, f"is limited to {max_chars} characters; got {len(value)}")
    return value or None


def _flag(values: Mapping[str, Any], key: str, default: bool) -> bool:
    value = values.get(key, default)
    if not isinstance(value, bool):
        raise StudyConfigError(key, f"must be true or false, not {value!r}")
    return value


def _choice(values: Mapping[str, Any], key: str, options: tuple[str, ...]) -> str:
    value = values.get(key, options[0])
    if value not in options:
        raise StudyConfigError(
            key, f"must be one of {', '.join(map(repr, options))}; got {value!r}"
        )
    return value


def _excerpt_bars(values: Mapping[str, Any]) -> tuple[int, int] | None:
    """`[first, last]` bars (1-based, inclusive) of a 60-bar clip, or None for whole clips."""
    bars = values.get("excerpt_bars")
    if bars is None:
        return None
    if (
        not isinstance(bars, list)
        or len(bars) != 2
        or not all(isinstance(bar, int) and not isinstance(bar, bool) for bar in bars)
        or not 1 <= bars[0] <= bars[1]
    ):
        raise StudyConfigError(
            "excerpt_bars", f"must be [first, last] bars, 1 ≤ first ≤ last; got {bars!r}"
        )
    return bars[0], bars[1]


_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _questions(values: Mapping[str, Any]) -> tuple[Question, ...] | None:
    """`[[criteria]]` (name, question, help, scale, required) and `[[questions]]` (name,
    question, help, options, required) as one tuple, criteria first; None when neither."""
    if "criteria" not in values and "questions" not in values:
        return None
    found: list[Question] = []
    for key in ("criteria", "questions"):
        entries = values.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise StudyConfigError(key, f"is a list of [[{key}]] tables")
        for number, entry in enumerate(entries, start=1):
            where = f"{key}[{number}]"
            unknown = sorted(
                set(entry) - {"name", "question", "help", "scale", "options", "required"}
            )
            if unknown:
                raise StudyConfigError(where, f"unknown key {unknown[0]!r}")
            name = entry.get("name")
            if not isinstance(name, str) or not _KEY.match(name) or name in ("comment", "genre"):
                raise StudyConfigError(
                    where,
                    "`name` is 1–40 lowercase letters, digits or _ (not comment or genre); "
                    f"got {name!r}",
                )
            question = _text(entry, "question", max_chars=300)
            if not question:
                raise StudyConfigError(where, "`question` is missing")
            help_text = _text(entry, "help", max_chars=1000) or ""
            required = entry.get("required", True)
            if not isinstance(required, bool):
                raise StudyConfigError(where, "`required` is true or false")
            if key == "criteria":
                scale = entry.get("scale", "symbols5")
                if scale not in SCALES:
                    raise StudyConfigError(
                        where, f"`scale` is one of {', '.join(map(repr, SCALES))}; got {scale!r}"
                    )
                found.append(Question(name, question, help_text, scale, (), required))
            else:
                options = entry.get("options")
                if (
                    not isinstance(options, list)
                    or len(options) < 2
                    or not all(isinstance(o, str) and 0 < len(o) <= 100 for o in options)
                    or len(set(options)) != len(options)
                ):
                    raise StudyConfigError(where, "`options` is a list of two or more texts")
                found.append(
                    Question(name, question, help_text, "choice", tuple(options), required)
                )
    names = [question.key for question in found]
    if len(set(names)) != len(names):
        raise StudyConfigError("criteria", "a name is used twice")
    if not found:
        raise StudyConfigError("criteria", "lists no criterion or question")
    return tuple(found)


def _adaptive_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """A pairwise study's scheduling: balanced, or adaptive after a burn-in of votes per pair."""
    if not _flag(values, "adaptive", False):
        if "adaptive_burn_in" in values:
            raise StudyConfigError("adaptive_burn_in", "applies with adaptive = true")
        return {"adaptive": False, "adaptive_burn_in": None}
    burn_in = _whole(
        values,
        "adaptive_burn_in",
        low=1,
        high=MAX_ADAPTIVE_BURN_IN,
        default=DEFAULT_ADAPTIVE_BURN_IN,
    )
    return {"adaptive": True, "adaptive_burn_in": burn_in}


def _trial_fields(values: Mapping[str, Any], trial_type: str) -> dict[str, Any]:
    """What a trial type adds or changes: pages per participant, the reason, anchors."""
    if trial_type == "rating":
        for key in ("trials_per_participant", "reason", *_ADAPTIVE_KEYS):
            if key in values:
                types = "mushra" if key == "trials_per_participant" else None
                raise StudyConfigError(
                    key, 'applies to trial_type = "pairwise"' + (f' or "{types}"' if types else "")
                )
        return {
            "clips_per_participant": _whole(
                values, "clips_per_participant", low=1, high=MAX_CLIPS_PER_PARTICIPANT
            ),
            "references": _whole(values, "references", low=0, high=100, default=1),
            "anchors": _whole(values, "anchors", low=0, high=100, default=1),
            "practice": _flag(values, "practice", True),
            "criteria": _questions(values),
        }
    for key in (*RATING_ONLY_KEYS[:2], "criteria", "questions"):
        if key in values:
            raise StudyConfigError(
                key, f"applies to rating studies; a {trial_type} study sets trials_per_participant"
            )
    if _flag(values, "practice", False):
        raise StudyConfigError("practice", "a practice clip applies to rating studies")
    trials = _whole(values, "trials_per_participant", low=1, high=MAX_TRIALS_PER_PARTICIPANT)
    fields: dict[str, Any] = {
        "trials_per_participant": trials,
        "clips_per_participant": trials,
        "practice": False,
    }
    if trial_type == "pairwise":
        if "reason" in values:
            fields["reason"] = _choice(values, "reason", REASON_MODES)
        fields.update(_adaptive_fields(values))
        fields["references"] = _whole(values, "references", low=0, high=100, default=0)
        fields["anchors"] = _whole(values, "anchors", low=0, high=100, default=0)
        if len(values.get("conditions") or ()) + bool(fields["references"]) < 2:
            raise StudyConfigError(
                "conditions", "a pairwise study compares at least two conditions"
            )
        return fields
    for key in ("reason", *_ADAPTIVE_KEYS):
        if key in values:
            raise StudyConfigError(key, 'applies to trial_type = "pairwise"')
    # MUSHRA: every page holds the hidden reference and the low anchor of the excerpt
    fields["references"] = _whole(values, "references", low=1, high=100, default=1)
    fields["anchors"] = _whole(values, "anchors", low=1, high=100, default=1)
    return fields


def validate_config(values: Mapping[str, Any]) -> StudyConfig:
    """Check every field of a parsed config; the first problem is raised, naming its key."""
    from drumeval.study.flow import check_slug

    unknown = sorted(set(values) - set(KNOWN_KEYS))
    if unknown:
        raise StudyConfigError(unknown[0], f"unknown key; known keys: {', '.join(KNOWN_KEYS)}")
    title = _text(values, "title", max_chars=200)
    if not title:
        raise StudyConfigError("title", "is missing")
    public_title = _text(values, "public_title", max_chars=200) or None
    slug = values.get("slug")
    try:
        slug = check_slug(slug)
    except StudyError:
        raise StudyConfigError(
            "slug", f"{slug!r} is not a valid link name: 2–63 lowercase letters, digits or hyphens"
        ) from None
    conditions = values.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise StudyConfigError("conditions", "must be a list of at least one condition name")
    for name in conditions:
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
            raise StudyConfigError("conditions", f"condition names are text; got {name!r}")
    if len(set(conditions)) != len(conditions):
        raise StudyConfigError("conditions", "lists a condition twice")
    minimum = values.get("min_listen_seconds")
    if minimum is not None and (
        isinstance(minimum, bool)
        or not isinstance(minimum, int | float)
        or not math.isfinite(minimum)
        or not 1 <= minimum <= 600
    ):
        raise StudyConfigError("min_listen_seconds", f"must be 1…600 seconds; got {minimum!r}")
    url = _text(values, "completion_url", max_chars=1000)
    if url is not None and (
        urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc
    ):
        raise StudyConfigError("completion_url", f"must be an http(s) address; got {url!r}")
    code = _text(values, "completion_code", max_chars=64)
    screen = values.get("headphone_screen", "antiphase")
    from drumeval.study.headphone import SCREENS

    if screen not in SCREENS:
        raise StudyConfigError("headphone_screen", f"must be one of {', '.join(SCREENS)}")
    rules = values.get("screening_rules")
    if rules is not None:
        from drumeval.study.content import SCREENING_RULES

        if not isinstance(rules, list) or not set(map(str, rules)) <= set(SCREENING_RULES):
            raise StudyConfigError(
                "screening_rules", f"must be a list of rules among {', '.join(SCREENING_RULES)}"
            )
        rules = tuple(rules)
    trial_type = _choice(values, "trial_type", TRIAL_TYPES)
    return StudyConfig(
        title=title,
        public_title=public_title,
        slug=slug,
        conditions=tuple(conditions),
        clips_per_condition=_whole(values, "clips_per_condition", low=1, high=1000),
        seed=_whole(values, "seed", low=0, high=2**31 - 1, default=0),
        gold=_whole(values, "gold", low=0, high=100, default=0),
        screening_rules=rules,
        trial_type=trial_type,
        excerpt_bars=_excerpt_bars(values),
        **_trial_fields(values, trial_type),
        min_listen_seconds=None if minimum is None else float(minimum),
        headphone_check=_flag(values, "headphone_check", True),
        headphone_screen=screen,
        consent_text=_text(values, "consent_text", max_chars=MAX_CONSENT_CHARS) or None,
        completion_url=url,
        completion_code=code,
        screened_out_code=_text(values, "screened_out_code", max_chars=64),
        returned_code=_text(values, "returned_code", max_chars=64),
        participant_target=_optional_whole(values, "participant_target", low=1, high=1_000_000),
        abandon_minutes=_optional_whole(values, "abandon_minutes", low=1, high=7 * 24 * 60),
    )


def parse_config(text: str) -> StudyConfig:
    """A study config from TOML text (`StudyConfigError` names the field, or the TOML line)."""
    if len(text) > MAX_CONFIG_CHARS:
        raise StudyError(f"a study config is limited to {MAX_CONFIG_CHARS:,} characters")
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StudyError(f"the study config is not valid TOML: {error}") from None
    return validate_config(values)


def config_to_toml(values: Mapping[str, Any]) -> str:
    """TOML text for a flat config (what the admin form writes; `parse_config` reads it back)."""
    lines = []
    rating = values.get("trial_type", "rating") == "rating"
    for key in KNOWN_KEYS:
        value = values.get(key)
        if value is None or (not rating and key in RATING_ONLY_KEYS) or key in _TABLE_KEYS:
            continue
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int | float):
            rendered = repr(value)
        elif isinstance(value, str):
            rendered = json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
        else:
            rendered = (
                "["
                + ", ".join(
                    repr(item)
                    if isinstance(item, int)
                    else json.dumps(str(item), ensure_ascii=False)
                    for item in value
                )
                + "]"
            )
        lines.append(f"{key} = {rendered}")
    for question in values.get("criteria") or ():  # a design's questions, as TOML tables
        question = question if isinstance(question, Question) else Question(**question)
        choice = question.scale == "choice"
        lines += [
            "",
            "[[questions]]" if choice else "[[criteria]]",
            f"name = {json.dumps(question.key)}",
            f"question = {json.dumps(question.label, ensure_ascii=False)}",
            f"help = {json.dumps(question.help, ensure_ascii=False)}",
            (
                f"options = {json.dumps(list(question.options), ensure_ascii=False)}"
                if choice
                else f"scale = {json.dumps(question.scale)}"
            ),
            f"required = {'true' if question.required else 'false'}",
        ]
    return "\n".join(lines) + "\n"


# --- clip selection and the plan ---------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The clips a config picks from the pool: per condition (trial) and the practice clip."""

    trial: dict[str, tuple[int, ...]]
    training: int | None

    def counts(self) -> dict[str, int]:
        return {condition: len(ids) for condition, ids in self.trial.items()}

    @property
    def trial_ids(self) -> list[int]:
        return [clip_id for ids in self.trial.values() for clip_id in ids]


@dataclass(frozen=True)
class PlanPreview:
    """Expected ratings if `participants` people finish (exposure is balanced by assignment)."""

    participants: int
    clips: int
    ratings: int
    per_clip: float
    per_condition: dict[str, float] = field(default_factory=dict)


def plan_preview(
    counts: Mapping[str, int], *, clips_per_participant: int, participants: int
) -> PlanPreview:
    """Ratings per clip and per condition for N participants (pure arithmetic)."""
    clips = sum(counts.values())
    if clips == 0:
        raise StudyError("the study has no clips")
    ratings = participants * min(clips_per_participant, clips)
    per_clip = ratings / clips
    return PlanPreview(
        participants=participants,
        clips=clips,
        ratings=ratings,
        per_clip=per_clip,
        per_condition={condition: per_clip * count for condition, count in counts.items()},
    )


def _seeded_pick(rows: list[tuple[int, str]], count: int, seed: int) -> tuple[int, ...]:
    ordered = sorted(rows, key=lambda row: row[1])  # by MIDI hash: independent of insertion
    chosen = np.random.default_rng(seed).choice(len(ordered), size=count, replace=False)
    return tuple(ordered[index][0] for index in sorted(int(i) for i in chosen))


def _parts(condition: str) -> tuple[str, str, int] | None:
    """(prefix, corpus, bars) of a generated condition name; None for an imported one.

    The prefix (`demo/`, `kit-<name>/`, both or none) names the pool the clip belongs to;
    its references, anchors and practice clip carry the same prefix.
    """
    name = parse_condition_name(condition)
    return None if name is None else (name.prefix, name.corpus, name.bars)


def select_clips(engine: Engine, config: StudyConfig) -> Selection:
    """The config's clips from the pool, seeded; a missing or too small condition is an error."""
    wanted: dict[str, int] = {name: config.clips_per_condition for name in config.conditions}
    generated = [parts for name in config.conditions if (parts := _parts(name))]
    for prefix, corpus, bars in sorted(set(generated)):
        if config.references:
            wanted[reference_name(corpus, bars, prefix=prefix)] = config.references
        if config.anchors:
            wanted[anchor_name(corpus, bars, prefix=prefix)] = config.anchors
        if config.gold:
            wanted[gold_name(corpus, bars, prefix=prefix)] = config.gold
    if (config.references or config.anchors or config.gold) and not generated:
        raise StudyConfigError(
            "references", "references and anchors match generated conditions; set them to 0"
        )
    practice = None
    if config.practice:
        if not generated:
            raise StudyConfigError("practice", "the practice clip matches a generated condition")
        prefix, _, bars = generated[0]
        practice = practice_name(bars, prefix=prefix)
    names = [*wanted, *([practice] if practice else [])]
    with transaction(engine) as session:
        rows = repository.clips_of_conditions(session, conditions=names)
    by_condition: dict[str, list[tuple[int, str]]] = {name: [] for name in names}
    for clip_id, sha, condition in rows:
        by_condition[condition].append((clip_id, sha))
    trial: dict[str, tuple[int, ...]] = {}
    for index, (name, count) in enumerate(wanted.items()):
        have = by_condition[name]
        if len(have) < count:
            key = (
                "conditions"
                if name in config.conditions
                else (
                    "references"
                    if "reference/" in name
                    else ("gold" if "gold/" in name else "anchors")
                )
            )
            raise StudyConfigError(
                key,
                f"the pool has {len(have)} clip(s) of {name!r}, {count} wanted; "
                "build the pool (`drumeval study pool`) or import clips first",
            )
        trial[name] = _seeded_pick(have, count, config.seed + index)
    training = None
    if practice:
        if not by_condition[practice]:
            raise StudyConfigError("practice", f"the pool has no practice clip ({practice!r})")
        training = _seeded_pick(by_condition[practice], 1, config.seed)[0]
    total = sum(len(ids) for ids in trial.values())
    if config.trial_type == "rating" and config.clips_per_participant > total:
        raise StudyConfigError(
            "clips_per_participant",
            f"asks for {config.clips_per_participant} clips but the study has {total}",
        )
    return Selection(trial, training)


# --- blinding ----------------------------------------------------------------------------

_WORD_STOPLIST = frozenset({"drums", "track", "tracks", "study", "clips", "pilot"})


def _compact(text: str) -> str:
    """Lowercase letters and digits only, so "DrumsRNN", "drums_rnn" and "drums-rnn" meet."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def revealing_names(conditions: tuple[str, ...]) -> list[str]:
    """Names an evaluator must not read: every model (name, label, presets), every corpus,
    Magenta, and each part of this study's condition names (an imported condition's words
    too: "magenta-original" gives "magenta" and "original")."""
    from drumeval.registry import CORPUS_NAMES, MODELS

    names = {"Magenta", *CORPUS_NAMES}
    for family in MODELS.values():
        names |= {family.name, family.label, *family.presets}
    for condition in conditions:
        segments = condition.split("/")
        names |= set(segments)
        if _parts(condition) is None:  # imported: its words are the researcher's own
            names |= {
                word
                for segment in segments
                for word in re.split(r"[-_.\s]+", segment)
                if len(word) >= 5 and not re.search(r"\d", word)
            }
    return sorted(
        name
        for name in names
        if len(_compact(name)) >= 4
        and not re.search(r"\d", name.split("-")[0])  # t1, 60bars: tell nothing
        and _compact(name) not in _WORD_STOPLIST
    )


def blinding_warnings(config: StudyConfig) -> list[str]:
    """What evaluators would read of this study config that names a condition, model or
    corpus (`name_warnings`)."""
    return name_warnings(
        title=config.title,
        public_title=config.public_title,
        slug=config.slug,
        conditions=config.conditions,
    )


def study_blinding_warnings(engine: Engine, slug: str) -> list[str]:
    """`name_warnings` of a stored study (the /admin page shows them beside its link)."""
    with transaction(engine) as session:
        study = _require_study(session, slug)
        return name_warnings(
            title=study.title,
            public_title=study.public_title,
            slug=study.slug,
            conditions=tuple((study.design or {}).get("conditions") or ()),
        )


def name_warnings(
    *, title: str, public_title: str | None, slug: str, conditions: tuple[str, ...]
) -> list[str]:
    """What evaluators would read that names a condition, model or corpus.

    The slug is in every evaluator's URL; the title is shown unless a public title is set
    (then the title stays the researcher's and may name anything).
    """
    seen = (
        [("public title", public_title)]
        if public_title
        else [("title (evaluators see it: set public_title)", title)]
    )
    seen.append(("slug (in every evaluator's URL)", slug))
    names = revealing_names(conditions)
    warnings = []
    for what, text in seen:
        found: dict[str, str] = {}
        for name in names:
            key = _compact(name)
            if key in _compact(text) and (key not in found or name.lower() in text.lower()):
                found[key] = name
        if found:
            shown = sorted(found.values(), key=lambda name: _compact(text).find(_compact(name)))
            listed = ", ".join(repr(name) for name in shown)
            warnings.append(f"the {what} names {listed}: evaluators would not be blind")
    return warnings


def random_slug() -> str:
    """A link name that says nothing about the study (40 random bits)."""
    return f"s-{secrets.token_hex(5)}"


def with_slug(config_text: str, slug: str) -> str:
    """The config text with its `slug` replaced (or added), comments and order kept, so the
    stored text recreates the study under its new link name."""
    return with_value(config_text, "slug", slug)


def with_value(config_text: str, key: str, value: str | int | None) -> str:
    """The config text with one top-level key set (added when missing, removed for None),
    comments and order kept: the stored text keeps recreating the study as it now is."""
    pattern = rf"(?m)^{re.escape(key)}\s*=.*$"
    if value is None:
        return re.sub(pattern + "\n?", "", config_text, count=1)
    line = f"{key} = {json.dumps(value)}"
    replaced, count = re.subn(pattern, line, config_text, count=1)
    return replaced if count else f"{line}\n{config_text}"


# --- studies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StudySummary:
    id: int
    slug: str
    title: str
    status: str
    is_demo: bool
    clips: int
    archived: bool = False


def excerpt_selection(engine: Engine, selection: Selection, bars: tuple[int, int]) -> Selection:
    """The selection with each clip replaced by its excerpt (`pool.make_excerpts`); a bar
    range beyond a clip is a `StudyConfigError` on `excerpt_bars`."""
    from drumeval.clips import ConditionError
    from drumeval.study.pool import make_excerpts

    try:
        trial = {
            condition: tuple(make_excerpts(engine, ids, bars))
            for condition, ids in selection.trial.items()
        }
        training = (
            None
            if selection.training is None
            else make_excerpts(engine, [selection.training], bars)[0]
        )
    except ConditionError as error:
        raise StudyConfigError("excerpt_bars", str(error)) from None
    return Selection(trial, training)


def create_study(
    engine: Engine, config_text: str, *, is_demo: bool = False, base_url: str | None = None
) -> StudySummary:
    """A draft study from TOML text, its clips chosen from the pool; the text is stored as is.

    `base_url`: the app's address, kept with the study for its invite link.
    """
    config = parse_config(config_text)
    selection = select_clips(engine, config)
    if config.excerpt_bars is not None:  # the same segment of every chosen clip, cut once
        selection = excerpt_selection(engine, selection, config.excerpt_bars)
    with transaction(engine, write_lock=True) as session:
        study = repository.create_study(
            session,
            slug=config.slug,
            title=config.title,
            public_title=config.public_title,
            base_url=base_url,
            participant_target=config.participant_target,
            abandon_minutes=config.abandon_minutes,
            design=config.design(),
            config_text=config_text,
            is_demo=is_demo,
        )
        repository.add_study_clips(
            session,
            study_id=study.id,
            clip_ids=selection.trial_ids,
            training_clip_id=selection.training,
        )
        return StudySummary(
            study.id, study.slug, study.title, study.status, is_demo, len(selection.trial_ids)
        )


def _require_study(session: Any, slug: str) -> Any:
    study = repository.get_study(session, slug=slug)
    if study is None:
        raise StudyError(f"no study called {slug!r}; `drumeval study list` shows them")
    return study


def set_status(engine: Engine, slug: str, status: str, *, grace_minutes: int | None = None) -> None:
    """Open (`open`) or close (`closed`) a study by slug."""
    with transaction(engine, write_lock=True) as session:
        study = _require_study(session, slug)
        if study.status == status and (status != "closed" or grace_minutes is None):
            return  # a closed study may still get a new grace period
        if status == "open" and study.status == "closed":
            raise StudyError(
                f"study {slug!r} is closed; create a new study to collect more ratings"
            )
        repository.set_study_status(
            session, study_id=study.id, status=status, grace_minutes=grace_minutes
        )


def open_study(engine: Engine, slug: str) -> None:
    set_status(engine, slug, "open")


def close_study(engine: Engine, slug: str, *, grace_minutes: int | None = None) -> datetime:
    """Close a study to newcomers; those who started may finish within `grace_minutes`
    (default: the study's own, 60 unless set). Returns the time they have until."""
    set_status(engine, slug, "closed", grace_minutes=grace_minutes)
    with transaction(engine) as session:
        deadline = repository.finish_deadline(_require_study(session, slug))
    assert deadline is not None  # the study is closed now
    return deadline


def list_summaries(engine: Engine, *, include_archived: bool = False) -> list[StudySummary]:
    """Every study (archived ones only with `include_archived`), oldest first."""
    with transaction(engine) as session:
        studies = repository.list_studies(session, include_archived=include_archived)
        return [
            StudySummary(
                study.id,
                study.slug,
                study.title,
                study.status,
                study.is_demo,
                len(repository.study_clip_ids(session, study_id=study.id)[0]),
                archived=study.archived_at is not None,
            )
            for study in studies
        ]


@dataclass(frozen=True)
class ClipProgress:
    clip_id: int
    condition: str
    ratings: int
    median_seconds: float | None


@dataclass(frozen=True)
class StudyStatus:
    """The researcher's live view of one study."""

    slug: str
    title: str
    status: str
    is_demo: bool
    config_text: str | None
    counts: dict[str, int]
    per_condition: dict[str, int]
    clips: tuple[ClipProgress, ...]
    base_url: str | None = None  # given at creation (`study create --base-url`)
    stimuli: tuple["Stimulus", ...] = ()
    participant_target: int | None = None
    abandon_minutes: int | None = None
    design: dict[str, Any] = field(default_factory=dict)


def study_status(engine: Engine, slug: str) -> StudyStatus:
    """Participants started / finished / screened out, ratings per clip and per condition,
    and the study's stimuli."""
    with transaction(engine) as session:
        study = _require_study(session, slug)
        progress = repository.study_progress(session, study_id=study.id)
        stimuli = tuple(
            stimulus_of(clip, purpose)
            for clip, purpose in repository.study_stimuli(session, study_id=study.id)
        )
    clip_rows = sorted(
        ((item.clip_id, item.condition) for item in stimuli if item.purpose == "trial"),
        key=lambda row: (row[1], row[0]),
    )
    per_condition = {condition: 0 for _, condition in clip_rows}
    per_condition.update(progress["ratings_per_condition"])
    clips = tuple(
        ClipProgress(
            clip_id,
            condition,
            progress["ratings_per_clip"].get(clip_id, 0),
            progress["median_seconds_per_clip"].get(clip_id),
        )
        for clip_id, condition in clip_rows
    )
    counts = {
        key: progress[key]
        for key in (
            "consented",
            "started",
            "in_progress",
            "finished",
            "screened_out",
            "declined",
            "ratings",
        )
    }
    return StudyStatus(
        study.slug,
        study.title,
        study.status,
        study.is_demo,
        study.config_text,
        counts,
        per_condition,
        clips,
        base_url=study.base_url,
        stimuli=stimuli,
        participant_target=study.participant_target,
        abandon_minutes=study.abandon_minutes,
        design=dict(study.design or {}),
    )


def invite_url(base_url: str, slug: str) -> str:
    """The link evaluators open: `<base>/study?s=<slug>`."""
    return f"{base_url.rstrip('/')}/study?{urlencode({'s': slug})}"


def invite_qr_svg(url: str) -> str:
    """A QR code of the invite link as inline SVG text (no file, no network)."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return buffer.getvalue().decode()


# --- which stimuli are in a study ---------------------------------------------------------


@dataclass(frozen=True)
class Stimulus:
    """One clip of a study as a paper's supplement lists it: enough to find the very files
    (content hashes) and to tell how it entered the pool (role, imported file's name)."""

    clip_id: int
    public_id: str  # the id evaluators' pages and the exports use
    purpose: str  # "trial" (rated) or "training" (the practice clip)
    condition: str
    role: str  # generated, imported, reference, anchor, gold, training
    source_file: str | None  # an imported clip's file name
    midi_sha256: str
    audio_sha256: str
    audio_format: str
    duration_s: float

    def as_record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in STIMULUS_COLUMNS}


STIMULUS_COLUMNS = tuple(Stimulus.__dataclass_fields__)


def stimulus_of(clip: Any, purpose: str) -> Stimulus:
    """A study clip row (`db.models.Clip`) as a `Stimulus`."""
    provenance = clip.provenance or {}
    return Stimulus(
        clip_id=clip.id,
        public_id=clip.public_id,
        purpose=purpose,
        condition=clip.condition,
        role=clip.role,
        source_file=provenance.get("file_name"),
        midi_sha256=clip.midi_sha256,
        audio_sha256=clip.audio_sha256,
        audio_format=clip.audio_format,
        duration_s=float(clip.duration_s),
    )


def study_stimuli(engine: Engine, slug: str) -> tuple[Stimulus, ...]:
    """Every clip of a study: the practice clip first, then by condition."""
    return study_status(engine, slug).stimuli


# --- the researcher's workflow: edit, duplicate, archive, delete ----------------------------


def edit_draft(engine: Engine, slug: str, config_text: str) -> StudySummary:
    """Redescribe a draft nobody has joined with new TOML (its clips are chosen again; the
    slug may change too). A study with participants must be duplicated instead."""
    config = parse_config(config_text)
    selection = select_clips(engine, config)
    with transaction(engine, write_lock=True) as session:
        study = _require_study(session, slug)
        repository.replace_draft(
            session,
            study_id=study.id,
            slug=config.slug,
            title=config.title,
            public_title=config.public_title,
            design=config.design(),
            config_text=config_text,
            participant_target=config.participant_target,
            abandon_minutes=config.abandon_minutes,
            clip_ids=selection.trial_ids,
            training_clip_id=selection.training,
        )
        return StudySummary(
            study.id, study.slug, study.title, study.status, study.is_demo, len(selection.trial_ids)
        )


def duplicate_study(engine: Engine, slug: str, new_slug: str) -> StudySummary:
    """A new draft with the same design and the very same clips under another link name
    (to change a study that has participants, or to run it again)."""
    with transaction(engine, write_lock=True) as session:
        study = _require_study(session, slug)
        trial, training = repository.study_clip_ids(session, study_id=study.id)
        copy = repository.create_study(
            session,
            slug=new_slug,
            title=study.title,
            public_title=study.public_title,
            base_url=study.base_url,
            participant_target=study.participant_target,
            abandon_minutes=study.abandon_minutes,
            design=dict(study.design or {}),
            config_text=with_slug(study.config_text, new_slug) if study.config_text else None,
        )
        copy.grace_minutes = study.grace_minutes
        repository.add_study_clips(
            session, study_id=copy.id, clip_ids=trial, training_clip_id=training
        )
        return StudySummary(copy.id, copy.slug, copy.title, copy.status, False, len(trial))


def archive_study(engine: Engine, slug: str, *, archived: bool = True) -> None:
    """Archive a draft or closed study (out of dropdowns and `study list`), or restore it."""
    with transaction(engine, write_lock=True) as session:
        study = _require_study(session, slug)
        repository.set_study_archived(session, study_id=study.id, archived=archived)


def study_holding(engine: Engine, slug: str) -> repository.StudyHolding:
    """How many participants and ratings a study holds (what deleting it would lose)."""
    with transaction(engine) as session:
        study = _require_study(session, slug)
        return repository.study_holding(session, study_id=study.id)


def check_deletion(engine: Engine, slug: str, *, confirm: str | None) -> repository.StudyHolding:
    """Refuse to delete a study that has ratings unless `confirm` repeats its slug."""
    holding = study_holding(engine, slug)
    if holding.ratings and confirm != slug:
        raise StudyError(
            f"study {slug!r} has {holding.ratings} rating(s) from {holding.participants} "
            f"participant(s); confirm the deletion with its slug"
        )
    return holding


def delete_study(engine: Engine, slug: str, *, confirm: str | None) -> None:
    """Delete a study and what was collected in it (its clips stay in the pool); one with
    ratings only when `confirm` repeats its slug (`analysis.export.delete_with_backup`
    writes its JSON backup first)."""
    check_deletion(engine, slug, confirm=confirm)
    with transaction(engine, write_lock=True) as session:
        study = _require_study(session, slug)
        if study.is_demo:
            raise StudyError("the demo study cannot be deleted (`make run` rebuilds it)")
        repository.delete_study(session, study_id=study.id)


# --- recruiting (Prolific): codes, target and released places, editable while it runs -------

RECRUITMENT_KEYS = (
    "completion_url",
    "completion_code",
    "screened_out_code",
    "returned_code",
    "participant_target",
    "abandon_minutes",
)


def update_recruitment(engine: Engine, slug: str, values: Mapping[str, Any]) -> None:
    """Change a study's Prolific settings (any status: a running study may need a higher
    target or a new code). Validated as the config's keys are; the stored config text
    follows, so `study config SLUG` still recreates the study as it now is."""
    unknown = sorted(set(values) - set(RECRUITMENT_KEYS))
    if unknown:
        raise StudyError(f"not a recruiting setting: {', '.join(unknown)}")
    with transaction(engine, write_lock=True) as session:
        study = _require_study(session, slug)
        text = study.config_text
        if text is not None:
            for key, value in values.items():
                text = with_value(text, key, value)
            config = parse_config(text)
        else:  # a study made in code: check the values alone, as a config would
            base = {"title": study.title, "slug": study.slug, "conditions": ["-"]}
            base |= {"clips_per_condition": 1, "clips_per_participant": 1}
            config = validate_config(base | {k: v for k, v in values.items() if v is not None})
        checked = {key: getattr(config, key) for key in values}
        repository.set_recruitment(session, study_id=study.id, values=checked, config_text=text)
