"""The evaluator's path through a study, as plain functions over the database.

Every step is derived from what the database holds, never from browser state, so a reload,
a closed tab or a server restart puts the evaluator back exactly where they were:

    consent → questionnaire → headphone check (optional) → instructions → practice clip
    → assigned clips, one at a time → end page with a completion code

Pages call these functions and render the `Progress` they return; each function is one
transaction (`db.engine.transaction`).
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from db import repository
from db.engine import transaction
from db.models import PAIRWISE_OUTCOMES
from drumeval import clipserve, clipstore
from drumeval.errors import (
    InvalidTokenError,
    RatingError,
    StudyClosedError,
    StudyDesignError,
    StudyError,
    StudyNotFoundError,
)
from drumeval.study import content, headphone
from drumeval.study.assignment import assign_with_gold, plan_mushra, plan_pairs
from drumeval.study.tokens import hash_token, looks_like_token, new_token

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EXTERNAL_ID_KEYS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")
_EXTERNAL_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
END_MARGIN_SECONDS = 5.0  # default minimum listening: the whole clip less this


class Step(Enum):
    QUESTIONNAIRE = "questionnaire"
    HEADPHONES = "headphones"
    INSTRUCTIONS = "instructions"
    RATING = "rating"
    PAIR = "pair"  # pairwise: two clips, A / B / tie / both bad
    MUSHRA = "mushra"  # several clips, one 0–100 score each
    FINISHED = "finished"
    SCREENED_OUT = "screened_out"
    RETURNED = "returned"  # left, or their place was released after a long pause


@dataclass(frozen=True)
class StudyDesign:
    """The parts of a study's design JSON the evaluator flow reads."""

    clips_per_participant: int
    min_listen_seconds: float | None = None
    headphone_check: bool = True
    consent_text: str | None = None  # None: `consent_text` derives it from the design
    completion_url: str | None = None
    # Prolific's codes for the other two endings (None: no redirect for them)
    screened_out_code: str | None = None
    returned_code: str | None = None
    headphone_screen: str = headphone.DEFAULT_SCREEN  # antiphase, huggins or both
    trial_type: str = "rating"  # "pairwise", "mushra": pages of several clips (`TrialPage`)
    reason: str = "optional"  # pairwise: "optional", "required" or "none"
    # rating: the study's own criteria and questions (None: the thesis's form)
    criteria: tuple[content.Question, ...] | None = None

    @classmethod
    def from_json(cls, design: Mapping[str, Any]) -> "StudyDesign":
        return cls(
            trial_type=str(design.get("trial_type", "rating")),
            reason=str(design.get("reason", "optional")),
            criteria=(
                tuple(
                    content.Question(**{**question, "options": tuple(question.get("options", ()))})
                    for question in design["criteria"]
                )
                if design.get("criteria")
                else None
            ),
            clips_per_participant=int(design.get("clips_per_participant", 12)),
            min_listen_seconds=design.get("min_listen_seconds"),
            headphone_check=bool(design.get("headphone_check", True)),
            consent_text=_own_consent_text(design.get("consent_text")),
            completion_url=design.get("completion_url") or None,
            screened_out_code=design.get("screened_out_code") or None,
            returned_code=design.get("returned_code") or None,
            headphone_screen=design.get("headphone_screen") or headphone.DEFAULT_SCREEN,
        )

    def redirect_url(self, code: str | None, *, completed: bool = False) -> str | None:
        """Where a participant who ends with `code` goes back to: the completion URL with
        its `{code}` placeholder or its `cc` parameter (Prolific's) set to that code.

        A URL with neither is the study's one ending, for those who completed it; the other
        endings (screened out, returned) then stay on the page (None), as without a code.
        """
        url = self.completion_url
        if url is None:
            return None
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if "{code}" not in url and not any(key == "cc" for key, _ in query):
            return url if completed else None
        if code is None:
            return None
        if "{code}" in url:
            return url.replace("{code}", quote(code, safe=""))
        query = [(key, code if key == "cc" else value) for key, value in query]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def minimum_listening(self, duration_s: float) -> float:
        """Seconds an evaluator must hear before rating a clip of `duration_s`."""
        if self.min_listen_seconds is not None:
            return float(min(self.min_listen_seconds, duration_s))
        return max(1.0, duration_s - END_MARGIN_SECONDS)


def _own_consent_text(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    return None if text == content.FORMER_DEFAULT_CONSENT_TEXT else text


@dataclass(frozen=True)
class StudyInfo:
    id: int
    slug: str
    title: str  # what evaluators see (the public title when the study has one)
    design: StudyDesign
    is_demo: bool
    # Closed studies: until when those who started may finish (None while open).
    finish_by: datetime | None = None

    def minutes_left(self, now: datetime | None = None) -> int | None:
        """Whole minutes left to finish a closed study (None while it is open)."""
        if self.finish_by is None:
            return None
        seconds = (self.finish_by - (now or datetime.now(UTC))).total_seconds()
        return max(0, math.ceil(seconds / 60))


@dataclass(frozen=True)
class ClipDraft:
    """A clip's listening and answers so far (before "Submit rating"), kept in the database
    so that a reload continues where the evaluator was."""

    heard_seconds: float = 0.0
    heard_spans: tuple[tuple[int, int], ...] = ()  # [start, end) whole seconds heard
    plays: int = 0
    answers: Mapping[str, Any] = field(default_factory=dict)


def draft_answers(
    answers: Mapping[str, Any], criteria: tuple[content.Question, ...] | None = None
) -> dict[str, Any]:
    """The answers worth keeping: known questions with valid values, the comment cut short.

    `criteria`: the study's own questions (None: the thesis's form)."""
    if criteria is not None:
        kept = {q.key: answers[q.key] for q in criteria if q.accepts(answers.get(q.key))}
        comment = answers.get("comment")
        if isinstance(comment, str) and comment:
            kept["comment"] = comment[: content.COMMENT_MAX_CHARS]
        return kept
    valid: dict[str, Any] = {
        criterion.key: {value for value, _ in content.SCALE} for criterion in content.CRITERIA
    }
    valid["genre"] = {key for key, _ in content.GENRE_OPTIONS}
    valid["confidence"] = set(content.CONFIDENCE_OPTIONS)
    kept = {key: answers.get(key) for key, values in valid.items() if answers.get(key) in values}
    comment = answers.get("comment")
    if isinstance(comment, str) and comment:
        kept["comment"] = comment[: content.COMMENT_MAX_CHARS]
    return kept


@dataclass(frozen=True)
class ClipToRate:
    """The clip on screen: only what the evaluator may know (no model, no file name)."""

    clip_id: int
    position: int  # 0 = practice clip
    number: int  # 1..total for rated clips, 0 for the practice clip
    total: int
    is_training: bool
    audio_sha256: str
    audio_format: str
    duration_s: float
    min_listen_seconds: float

    # The clip after this one, so that the browser can fetch it while this one plays.
    next_audio_sha256: str | None = None
    next_audio_format: str | None = None
    draft: ClipDraft = ClipDraft()

    def audio(self) -> bytes:
        return clipstore.get(self.audio_sha256, self.audio_format)

    def audio_url(self) -> str:
        """Where the browser fetches the audio (`drumeval.clipserve`); checks the file is there."""
        return clipserve.check_servable(self.audio_sha256, self.audio_format)

    def next_audio_url(self) -> str | None:
        if self.next_audio_sha256 is None or self.next_audio_format is None:
            return None
        return clipserve.clip_url(self.next_audio_sha256, self.next_audio_format)


@dataclass(frozen=True)
class Stimulus:
    """One clip of a page, as the evaluator may know it: a slot (A, B, 1, 2…) and audio."""

    slot: int
    audio_sha256: str
    audio_format: str
    duration_s: float
    min_listen_seconds: float

    def audio_url(self) -> str:
        """Where the browser fetches the audio; checks the file is there."""
        return clipserve.check_servable(self.audio_sha256, self.audio_format)


@dataclass(frozen=True)
class TrialPage:
    """A pairwise or multi-stimulus page: its clips in slot order and what was kept of it."""

    trial_id: int
    number: int  # 1..total
    total: int
    trial_type: str
    stimuli: tuple[Stimulus, ...]
    heard: Mapping[int, float] = field(default_factory=dict)  # slot -> seconds heard
    answers: Mapping[str, Any] = field(default_factory=dict)

    def unheard(self, heard: Mapping[int, float]) -> list[int]:
        """Slots not heard for their minimum yet (half a second of slack)."""
        return [
            stimulus.slot
            for stimulus in self.stimuli
            if max(heard.get(stimulus.slot, 0.0), self.heard.get(stimulus.slot, 0.0)) + 0.5
            < stimulus.min_listen_seconds
        ]


@dataclass(frozen=True)
class Progress:
    """Where one participant stands."""

    participant_id: int
    step: Step
    clip: ClipToRate | None = None
    page: TrialPage | None = None
    rated: int = 0
    completion_code: str | None = None
    completion_url: str | None = None
    headphone_seed: int = 0
    answers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RatingForm:
    """One submitted rating, as the form collected it."""

    scores: Mapping[str, int | None]
    genre_answer: str | None
    genre_confidence: int | None
    comment: str = ""
    # the answers to a study's own questions (`criteria`; then scores and genre are unused)
    answers: Mapping[str, int | str | None] | None = None
    criteria: tuple[content.Question, ...] | None = None

    def own_answers(self) -> dict[str, int | str]:
        """The answers to the study's own questions that were given (valid ones only)."""
        given = self.answers or {}
        return {q.key: given[q.key] for q in self.criteria or () if q.accepts(given.get(q.key))}

    def problems(self) -> list[str]:
        """What is missing or wrong, in words for the evaluator (empty when valid)."""
        if self.criteria is not None:
            answered = self.own_answers()
            problems = [
                f"Answer “{question.label}”."
                for question in self.criteria
                if question.required and question.key not in answered
            ]
            if len(self.comment) > content.COMMENT_MAX_CHARS:
                problems.append(f"Keep the comment under {content.COMMENT_MAX_CHARS} characters.")
            return problems
        problems = [
            f"Rate “{criterion.label}”."
            for criterion in content.CRITERIA
            if self.scores.get(criterion.key) not in {value for value, _ in content.SCALE}
        ]
        if self.genre_answer not in {key for key, _ in content.GENRE_OPTIONS}:
            problems.append("Choose the genre (or “Can't tell”).")
        if self.genre_confidence not in content.CONFIDENCE_OPTIONS and not (
            self.genre_answer == content.CANT_TELL and self.genre_confidence is None
        ):  # after "Can't tell" there is nothing to be sure about
            problems.append("Say how sure you are about the genre (1–5).")
        if len(self.comment) > content.COMMENT_MAX_CHARS:
            problems.append(f"Keep the comment under {content.COMMENT_MAX_CHARS} characters.")
        return problems


def check_slug(slug: object) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise StudyNotFoundError(
            "This study link is not valid. Please check the link you were given."
        )
    return slug


def external_ids(query: Mapping[str, str]) -> dict[str, str]:
    """Recruiting-platform labels from the invite URL (kept as labels, never trusted)."""
    return {
        key: value
        for key in EXTERNAL_ID_KEYS
        if isinstance(value := query.get(key), str) and _EXTERNAL_ID_PATTERN.match(value)
    }


def study_info(study) -> StudyInfo:
    return StudyInfo(
        id=study.id,
        slug=study.slug,
        title=study.public_title or study.title,
        design=StudyDesign.from_json(study.design or {}),
        is_demo=bool(study.is_demo),
        finish_by=repository.finish_deadline(study),
    )


def load_study(
    engine, slug: object, *, must_be_open: bool = True, returning: bool = False
) -> StudyInfo:
    """The study behind an invite link; a clear error when it is unknown or not open.

    `returning`: the visitor brings a personal link (they consented earlier). A closed
    study still lets them in, so that those who started can finish within its grace
    period (`progress` says when that has passed); newcomers are turned away.
    """
    slug = check_slug(slug)
    with transaction(engine) as session:
        study = repository.get_study(session, slug=slug)
        if study is None:
            raise StudyNotFoundError(
                "There is no study at this link. Please check the link you were given."
            )
        if must_be_open and study.status == "draft":
            raise StudyClosedError(
                "This study is not taking participants at the moment. Thank you for your interest!"
            )
        if must_be_open and study.status == "closed" and not returning:
            raise StudyClosedError("This study has closed. Thank you for your interest!")
        return study_info(study)


def _check_time_left(study: StudyInfo, participant) -> None:
    """Refuse work on a closed study once its grace period is over (codes stay readable),
    and work of someone whose place was given back."""
    if participant.status in repository.GAVE_UP_THEIR_PLACE:
        raise StudyClosedError(
            "Your place in this study was released (you left, or paused for too long). "
            "Thank you for your time!"
        )
    if participant.status == "finished" or study.finish_by is None:
        return
    if datetime.now(UTC) >= study.finish_by:
        raise StudyClosedError(
            "This study has closed, and the time to finish it has passed. Thank you for your time!"
        )


def consent_text(engine, study: StudyInfo) -> str:
    """The study's own consent text, or the default one with the clip count and the time
    this study's clips take (so it never promises a dozen clips for a study of four)."""
    if study.design.consent_text is not None:
        return study.design.consent_text
    with transaction(engine) as session:
        trial_seconds, practice_seconds = repository.study_clip_seconds(session, study_id=study.id)
    clips = study.design.clips_per_participant
    typical = sorted(trial_seconds)[len(trial_seconds) // 2] if trial_seconds else 0.0
    minutes = content.expected_minutes(
        clip_seconds=[typical] * clips,
        headphone_tests=headphone.test_count(study.design.headphone_screen)
        if study.design.headphone_check
        else 0,
        practice_seconds=practice_seconds,
    )
    return content.default_consent_text(
        clips=clips, practice=practice_seconds is not None, minutes=minutes
    )


def decline(engine, study: StudyInfo) -> None:
    """Count a declined consent; nothing else about the visitor is stored."""
    with transaction(engine, write_lock=True) as session:
        repository.record_decline(session, study_id=study.id)


STUDY_FULL_MESSAGE = repository.STUDY_FULL_MESSAGE


def is_full(engine, study: StudyInfo) -> bool:
    """Whether the study has all the participants it needs: the invite page says so instead
    of showing a consent form that `consent` would refuse."""
    with transaction(engine) as session:
        return repository.study_is_full(session, study_id=study.id)


def consent(engine, study: StudyInfo, query: Mapping[str, str]) -> str:
    """Create the participant and return the secret resume token for the URL."""
    token = new_token()
    with transaction(engine, write_lock=True) as session:
        repository.create_participant(
            session,
            study_id=study.id,
            token_sha256=hash_token(token),
            external_ids=external_ids(query),
        )
    return token


def _participant(session, study: StudyInfo, token: object):
    if not looks_like_token(token):
        raise InvalidTokenError(
            "This personal study link is not valid. Open the invite link again to start."
        )
    participant = repository.get_participant(
        session, study_id=study.id, token_sha256=hash_token(token)
    )
    if participant is None:
        raise InvalidTokenError(
            "This personal study link does not match any participant. "
            "Open the invite link again to start."
        )
    return participant


def _headphone_seed(participant) -> int:
    return int.from_bytes(participant.token_sha256[:8].encode("ascii"), "big") % 2**31


def progress(engine, study: StudyInfo, token: object) -> Progress:
    """Where the participant with this token stands (the page to show)."""
    with transaction(engine) as session:
        participant = _participant(session, study, token)
        base = {"participant_id": participant.id, "headphone_seed": _headphone_seed(participant)}
        if participant.status == "screened_out":
            return Progress(step=Step.SCREENED_OUT, **base)
        if participant.status in repository.GAVE_UP_THEIR_PLACE:
            return Progress(step=Step.RETURNED, **base)
        if participant.status == "finished":
            return Progress(
                step=Step.FINISHED,
                completion_code=participant.completion_code,
                completion_url=study.design.completion_url,
                **base,
            )
        _check_time_left(study, participant)
        if participant.questionnaire is None:
            return Progress(step=Step.QUESTIONNAIRE, **base)
        if study.design.headphone_check and participant.screening is None:
            return Progress(step=Step.HEADPHONES, **base)
        if participant.status != "in_progress":
            return Progress(step=Step.INSTRUCTIONS, **base)
        if study.design.trial_type != "rating":
            return trial_progress(session, study, participant, base)
        rows = repository.assignment_rows(session, participant_id=participant.id)
        rated = sum(1 for _, _, rating in rows if rating is not None and not rating.is_training)
        pending = [(assignment, clip) for assignment, clip, rating in rows if rating is None]
        if not pending:
            return Progress(step=Step.FINISHED, rated=rated, **base)
        assignment, clip = pending[0]
        following = pending[1][1] if len(pending) > 1 else None
        total = sum(1 for assignment_row, _, _ in rows if not assignment_row.is_training)
        return Progress(
            step=Step.RATING,
            rated=rated,
            clip=ClipToRate(
                clip_id=clip.id,
                position=assignment.position,
                number=0 if assignment.is_training else rated + 1,
                total=total,
                is_training=assignment.is_training,
                audio_sha256=clip.audio_sha256,
                audio_format=clip.audio_format,
                duration_s=float(clip.duration_s),
                min_listen_seconds=study.design.minimum_listening(float(clip.duration_s)),
                next_audio_sha256=following.audio_sha256 if following else None,
                next_audio_format=following.audio_format if following else None,
                draft=ClipDraft(
                    heard_seconds=float(assignment.heard_seconds),
                    heard_spans=tuple(
                        (int(start), int(end)) for start, end in assignment.heard_spans or ()
                    ),
                    plays=int(assignment.play_count),
                    answers=dict(assignment.draft_answers or {}),
                ),
            ),
            **base,
        )


def trial_progress(session, study: StudyInfo, participant, base: dict[str, Any]) -> Progress:
    rows = repository.trial_rows(session, participant_id=participant.id)
    done = sum(answered for _, _, answered in rows)
    pending = [(trial, stimuli) for trial, stimuli, answered in rows if not answered]
    if not pending:
        return Progress(step=Step.FINISHED, rated=done, **base)
    trial, stimuli = pending[0]
    pairwise = study.design.trial_type == "pairwise"
    return Progress(
        step=Step.PAIR if pairwise else Step.MUSHRA,
        rated=done,
        page=TrialPage(
            trial_id=trial.id,
            number=done + 1,
            total=len(rows),
            trial_type=trial.trial_type,
            stimuli=tuple(
                Stimulus(
                    slot=stimulus.slot,
                    audio_sha256=clip.audio_sha256,
                    audio_format=clip.audio_format,
                    duration_s=float(clip.duration_s),
                    min_listen_seconds=(
                        study.design.minimum_listening(float(clip.duration_s))
                        if pairwise or study.design.min_listen_seconds is not None
                        else 0.0  # multi-stimulus: the listener's choice unless set
                    ),
                )
                for stimulus, clip in stimuli
            ),
            heard={int(slot): float(seconds) for slot, seconds in (trial.heard or {}).items()},
            answers=dict(trial.draft_answers or {}),
        ),
        **base,
    )


def log_resume(engine, study: StudyInfo, token: object) -> None:
    """Record that a participant came back (a new browser session on their link)."""
    with transaction(engine, write_lock=True) as session:
        participant = _participant(session, study, token)
        repository.log_event(
            session, study_id=study.id, participant_id=participant.id, kind="resume"
        )


def save_questionnaire(
    engine, study: StudyInfo, token: object, answers: Mapping[str, str | None]
) -> None:
    valid = {key: options for key, _, options in content.QUESTIONNAIRE}
    missing = [key for key, options in valid.items() if answers.get(key) not in options]
    if missing:
        raise StudyError("Please answer every question.")
    with transaction(engine, write_lock=True) as session:
        participant = _participant(session, study, token)
        _check_time_left(study, participant)
        repository.save_questionnaire(
            session, participant_id=participant.id, answers={key: answers[key] for key in valid}
        )


def headphone_trials(
    progress_: Progress, screen: str = headphone.DEFAULT_SCREEN
) -> tuple[headphone.ScreenTrial, ...]:
    """The participant's trials of the study's screen (`StudyDesign.headphone_screen`)."""
    return headphone.screen_trials(screen, progress_.headphone_seed)


def headphone_audio_urls(trials: tuple[headphone.ScreenTrial, ...]) -> list[str]:
    """Each trial's sound as a `/clips/` URL, stored in the clip store on first use.

    Like the study clips, the sounds come from the shared store by content hash, so any
    replica answers them (no replica affinity for the screening) and a rerun of the page
    re-sends a URL, not the audio.
    """
    return [
        clipserve.clip_url(clipstore.put(headphone.screen_wav(trial), "wav"), "wav")
        for trial in trials
    ]


def submit_headphone_check(
    engine, study: StudyInfo, token: object, answers: list[int | None]
) -> bool:
    """Score the screening; a failed listener is screened out for good (and counted)."""
    with transaction(engine, write_lock=True) as session:
        participant = _participant(session, study, token)
        if participant.screening is not None:
            return bool(participant.screening.get("passed"))
        _check_time_left(study, participant)
        trials = headphone.screen_trials(
            study.design.headphone_screen, _headphone_seed(participant)
        )
        if len(answers) != len(trials) or any(answer not in (0, 1, 2) for answer in answers):
            raise StudyError("Please answer every trial of the headphone check.")
        correct, passed = headphone.screen_score(trials, answers)
        repository.record_screening(
            session,
            participant_id=participant.id,
            passed=passed,
            details={
                "test": "+".join(correct),
                "correct": sum(correct.values()),
                "correct_per_test": correct,
                "trials": len(trials),
            },
        )
        return passed


def start(engine, study: StudyInfo, token: object) -> None:
    """Assign this participant's clips (balanced, in one locked transaction); idempotent."""
    with transaction(engine, write_lock=True) as session:
        participant = _participant(session, study, token)
        if participant.status == "screened_out":
            raise StudyError("This study has ended for you. Thank you for your time.")
        _check_time_left(study, participant)
        if study.design.trial_type == "rating":
            repository.start_assignments(
                session, participant_id=participant.id, assign=assign_with_gold
            )
        else:
            plan = plan_pairs if study.design.trial_type == "pairwise" else plan_mushra
            try:
                repository.start_trials(session, participant_id=participant.id, plan=plan)
            except StudyClosedError:
                raise
            except StudyError as error:  # the design's fault, not the participant's
                raise StudyDesignError(
                    f"study {study.slug!r}: participant {participant.id}'s pages cannot be "
                    f"built: {error}"
                ) from error


def save_clip_draft(
    engine, study: StudyInfo, token: object, *, clip_id: int, draft: ClipDraft
) -> None:
    """Keep what was heard and ticked of the clip on screen (called as it accrues, every
    few seconds of listening and on each answer), so that a reload loses none of it."""
    with transaction(engine, write_lock=True) as session:
        participant = _participant(session, study, token)
        repository.save_clip_draft(
            session,
            participant_id=participant.id,
            clip_id=clip_id,
            heard_seconds=max(0.0, float(draft.heard_seconds)),
            heard_spans=[[int(start), int(end)] for start, end in draft.heard_spans],
            play_count=max(0, int(draft.plays)),
            answers=draft_answers(draft.answers, study.design.criteria),
        )


def submit_rating(
    engine,
    study: StudyInfo,
    token: object,
    *,
    clip_id: int,
    form: RatingForm,
    heard_seconds: float,
    plays: int,
) -> bool:
    """Store one rating the moment it is submitted; True when it is new, False on a repeat.

    The minimum listening time is enforced here too, not only by the locked form.
    """
    if form.criteria != study.design.criteria:  # the form must ask this study's questions
        raise RatingError("This form does not match the study's questions; reload the page.")
    problems = form.problems()
    if problems:
        raise RatingError(" ".join(problems))
    # Check in a plain read transaction; the write transaction holds only the insert,
    # so evaluators queue for SQLite's write lock for as short a time as possible.
    with transaction(engine) as session:
        participant = _participant(session, study, token)
        _check_time_left(study, participant)
        assigned = repository.assigned_clip(session, participant_id=participant.id, clip_id=clip_id)
    if assigned is None:
        raise RatingError("This clip is not part of your study session.")
    clip, existing = assigned
    if existing is None:
        minimum = study.design.minimum_listening(float(clip.duration_s))
        if heard_seconds + 0.5 < minimum:
            raise RatingError(
                f"Please listen to at least {minimum:.0f} seconds of the clip before rating it."
            )
    own = form.criteria is not None
    with transaction(engine, write_lock=True) as session:
        _, created = repository.submit_rating(
            session,
            participant_id=participant.id,
            clip_id=clip_id,
            scores={} if own else {key: int(value) for key, value in form.scores.items()},
            genre_answer=None if own else form.genre_answer,
            genre_confidence=None if own else form.genre_confidence,
            comment=form.comment.strip() or None,
            listened_seconds=float(heard_seconds),
            play_count=int(plays),
            answers=form.own_answers() if own else None,
        )
        return created


def save_page_draft(
    engine,
    study: StudyInfo,
    token: object,
    *,
    trial_id: int,
    heard: Mapping[int, float],
    answers: Mapping[str, Any],
) -> None:
    """Keep a pairwise or multi-stimulus page's listening and answers as they accrue."""
    kept = {key: value for key, value in answers.items() if key in ("outcome", "reason", "scores")}
    if isinstance(kept.get("reason"), str):
        kept["reason"] = kept["reason"][: content.COMMENT_MAX_CHARS]
    with transaction(engine, write_lock=True) as session:
        participant = _participant(session, study, token)
        repository.save_trial_draft(
            session, participant_id=participant.id, trial_id=trial_id, heard=heard, answers=kept
        )


def _open_page(
    engine, study: StudyInfo, token: object, trial_id: int
) -> tuple[int, TrialPage | None]:
    """The participant and, while it is still unanswered, the page with this id."""
    with transaction(engine) as session:
        participant = _participant(session, study, token)
        _check_time_left(study, participant)
        page = trial_progress(session, study, participant, {"participant_id": participant.id}).page
    if any(trial.trial_id == trial_id for trial in ([page] if page else [])):
        return participant.id, page
    return participant.id, None


def submit_vote(
    engine,
    study: StudyInfo,
    token: object,
    *,
    trial_id: int,
    outcome: str | None,
    reason: str = "",
    heard: Mapping[int, float],
) -> bool:
    """Store a pairwise vote (A, B, tie, both bad); True when new, False on a repeat.

    Each side must have been heard for the study's minimum — checked here too, not only by
    the locked buttons — and a study that requires a reason gets one.
    """
    if outcome not in PAIRWISE_OUTCOMES:
        raise RatingError("Choose A, B, Tie or Both bad.")
    reason = (reason or "").strip()
    if study.design.reason == "required" and not reason:
        raise RatingError("Please say in a few words why.")
    if len(reason) > content.COMMENT_MAX_CHARS:
        raise RatingError(f"Keep the reason under {content.COMMENT_MAX_CHARS} characters.")
    participant_id, page = _open_page(engine, study, token, trial_id)
    if page is not None:
        heard = {slot: max(heard.get(slot, 0.0), page.heard.get(slot, 0.0)) for slot in (0, 1)}
        if page.unheard(heard):
            raise RatingError("Please listen to both A and B before you vote.")
    with transaction(engine, write_lock=True) as session:
        _, created = repository.submit_pairwise_vote(
            session,
            participant_id=participant_id,
            trial_id=trial_id,
            outcome=outcome,
            reason=reason if study.design.reason != "none" else None,
            heard_a_seconds=max(0.0, float(heard.get(0, 0.0))),
            heard_b_seconds=max(0.0, float(heard.get(1, 0.0))),
        )
        return created


def submit_scores(
    engine,
    study: StudyInfo,
    token: object,
    *,
    trial_id: int,
    scores: Mapping[int, int | None],
    heard: Mapping[int, float],
) -> bool:
    """Store a multi-stimulus page's 0–100 scores (every sound, each moved at least once:
    an untouched slider is `None`); True when new, False on a repeat."""
    if any(score is None for score in scores.values()):
        raise RatingError("Please move every slider (each sound needs a score).")
    participant_id, page = _open_page(engine, study, token, trial_id)
    if page is not None and page.unheard(heard):
        raise RatingError("Please listen to every sound before you submit.")
    with transaction(engine, write_lock=True) as session:
        return repository.submit_mushra_scores(
            session,
            participant_id=participant_id,
            trial_id=trial_id,
            scores={int(slot): score for slot, score in scores.items()},
            heard_seconds={int(slot): max(0.0, float(s)) for slot, s in heard.items()},
        )


def withdraw(engine, study: StudyInfo, token: object) -> None:
    """The participant leaves the study (Prolific: they are sent back with the returned code)."""
    with transaction(engine, write_lock=True) as session:
        participant = _participant(session, study, token)
        repository.withdraw_participant(session, participant_id=participant.id)


def finish(engine, study: StudyInfo, token: object) -> str:
    """Close the participant's session and return their completion code (idempotent)."""
    with transaction(engine, write_lock=True) as session:
        participant = _participant(session, study, token)
        return repository.finish_participant(session, participant_id=participant.id)
