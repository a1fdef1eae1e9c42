"""A study as one evaluator would take it, for the researcher to check before opening it.

Every step an evaluator sees — consent, questionnaire, headphone check, instructions, the
practice clip, the clips an assignment would give, the questions and the ending (a pairwise or
MUSHRA study: the pages its trial plan would give instead of clips) — built by reading the
database only: no participant, assignment, rating or event is written, so a
preview leaves the study's counts as they were (`drumeval study preview`, /admin's Preview).
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from db import repository
from db.engine import transaction
from drumeval import clipserve
from drumeval.errors import StudyNotFoundError
from drumeval.study import content, flow, headphone
from drumeval.study.assignment import PoolClip, assign_with_gold, plan_mushra, plan_pairs

_PAGE_PLAN = {"pairwise": plan_pairs, "mushra": plan_mushra}


@dataclass(frozen=True)
class PreviewClip:
    """One clip of the preview, with what only the researcher may see (its condition)."""

    number: int  # 0 = the practice clip, else 1..total
    total: int
    condition: str
    role: str
    audio_url: str
    duration_s: float
    min_listen_seconds: float


@dataclass(frozen=True)
class PreviewPage:
    """One page of a pairwise (clips A, B) or MUSHRA (tracks 1..n) study, as planned."""

    number: int  # 1..total
    total: int
    trial_type: str
    clips: tuple[PreviewClip, ...]  # in slot order

    def describe(self) -> str:
        """The page in words, each clip with its slot name and, for the researcher only, its
        condition and role."""
        pairwise = self.trial_type == "pairwise"
        name = "pair" if pairwise else "page"
        slots = "AB" if pairwise else [f"track {n}" for n in range(1, len(self.clips) + 1)]
        lines = [f"{name} {self.number} of {self.total}:"]
        lines += [
            f"- {slot}: {clip.condition} ({clip.role}), {clip.duration_s:.0f} s; {clip.audio_url}"
            for slot, clip in zip(slots, self.clips, strict=True)
        ]
        if pairwise:
            lines.append(
                f"vote A / B / Tie / Both bad, unlocked after "
                f"{self.clips[0].min_listen_seconds:.0f} s of each"
            )
        else:
            lines.append("a 0–100 slider per track, each moved before submitting")
        return "\n".join(lines)


@dataclass(frozen=True)
class StudyPreview:
    """Every evaluator step of one study, in order (`steps`)."""

    study: flow.StudyInfo
    status: str
    consent_text: str
    questionnaire: tuple[tuple[str, str, tuple[str, ...]], ...]
    headphone_trials: tuple[headphone.ScreenTrial, ...]  # empty without a headphone check
    headphone_urls: tuple[str, ...]
    clips: tuple[PreviewClip, ...]  # the practice clip first, when there is one
    codes: dict[str, str | None]  # Prolific's code per ending
    pages: tuple[PreviewPage, ...] = ()  # pairwise / MUSHRA studies: their pages, not clips

    @property
    def steps(self) -> tuple[str, ...]:
        """Step names: consent, questionnaire, headphones, instructions, clip:N… (page:N… for
        a pairwise or MUSHRA study), finished."""
        steps = ["consent", "questionnaire"]
        if self.headphone_trials:
            steps.append("headphones")
        steps.append("instructions")
        steps += [f"clip:{index}" for index in range(len(self.clips))]
        steps += [f"page:{index}" for index in range(len(self.pages))]
        return (*steps, "finished")

    def describe(self, step: str) -> str:
        """A step in words (what `drumeval study preview` prints)."""
        if step == "consent":
            return self.consent_text
        if step == "questionnaire":
            return "\n".join(
                f"- {question} ({' / '.join(options)})"
                for _, question, options in self.questionnaire
            )
        if step == "headphones":
            return "\n".join(
                f"- sound {number}: {url} ({headphone.WORDING[type(trial)].test}: "
                f"{headphone.WORDING[type(trial)].option.lower()} {trial.answer + 1})"
                for number, (trial, url) in enumerate(
                    zip(self.headphone_trials, self.headphone_urls, strict=True), start=1
                )
            )
        if step == "instructions":
            return trial_instructions(self.study.design)
        if step.startswith("page:"):
            return self.pages[int(step.removeprefix("page:"))].describe()
        if step.startswith("clip:"):
            clip = self.clips[int(step.removeprefix("clip:"))]
            name = "practice clip" if clip.number == 0 else f"clip {clip.number} of {clip.total}"
            return (
                f"{name}: {clip.condition} ({clip.role}), {clip.duration_s:.0f} s, rating "
                f"unlocks after {clip.min_listen_seconds:.0f} s; {clip.audio_url}"
            )
        codes = ", ".join(f"{ending} {code or '–'}" for ending, code in self.codes.items())
        return f"the completion page; codes per ending: {codes}"


def trial_instructions(design: flow.StudyDesign) -> str:
    """What each page asks, in the evaluator's words: the rating questions, or the pairwise
    vote, or the MUSHRA sliders."""
    if design.trial_type == "pairwise":
        reason = "" if design.reason == "none" else f", with a reason ({design.reason})"
        return f"Each pair: listen to A and B, then vote A / B / Tie / Both bad{reason}."
    if design.trial_type == "mushra":
        return (
            "Each page: play every track and score it 0–100 with its slider (one unlabelled "
            "track is the reference)."
        )
    return rating_questions(design.criteria)


def rating_questions(criteria: tuple[content.Question, ...] | None = None) -> str:
    """The questions under every clip, in the evaluator's words: the study's own `criteria`,
    or the thesis's form."""
    if criteria is not None:
        return "\n".join(
            f"- {question.label}" + (f": {question.help}" if question.help else "")
            for question in criteria
        )
    lines = [f"- {criterion.label}: {criterion.definition}" for criterion in content.CRITERIA]
    lines.append(f"- Genre: {content.GENRE_DEFINITION} (then how sure, 1–5)")
    lines.append(f"Scale: {content.SCALE_HELP}")
    return "\n".join(lines)


def preview_study(engine: Engine, slug: str, *, seed: int = 0) -> StudyPreview:
    """Every evaluator step of study `slug` (any status); `seed` picks which clips and which
    headphone order this one imagined evaluator gets, as the study's assignment would."""
    with transaction(engine) as session:
        study = repository.get_study(session, slug=slug)
        if study is None:
            raise StudyNotFoundError(f"no study called {slug!r}; `drumeval study list` shows them")
        info = flow.study_info(study)
        status = study.status
        stimuli = repository.study_stimuli(session, study_id=study.id)
        design: dict[str, Any] = dict(study.design or {})
    clips = {clip.id: clip for clip, _ in stimuli}
    pool = [
        PoolClip(clip.id, clip.condition, clip.role)
        for clip, purpose in stimuli
        if purpose == "trial"
    ]
    plan_pages = _PAGE_PLAN.get(info.design.trial_type)
    if plan_pages is None:
        rated = sum(clip.role != "gold" for clip in pool)
        chosen = assign_with_gold(
            pool,
            clips_per_participant=min(info.design.clips_per_participant, rated),
            exposure=Counter(),
            position_counts=Counter(),
            seed=seed,
        )
        practice = [clip.id for clip, purpose in stimuli if purpose == "training"]
        planned = []
    else:  # the pages the study's plan would give its first participant (an adaptive
        # study's first participants are scheduled as a balanced one's: no votes yet)
        chosen, practice = [], []
        planned = plan_pages(
            pool,
            trials_per_participant=int(design.get("trials_per_participant") or 1),
            taken=[],
            seed=seed,
            votes=[],
            design=design,
        )
    order = [*practice, *chosen]
    screen = info.design.headphone_screen
    trials = headphone.screen_trials(screen, seed) if info.design.headphone_check else ()
    return StudyPreview(
        study=info,
        status=status,
        consent_text=flow.consent_text(engine, info),
        questionnaire=tuple(
            (key, question, tuple(options)) for key, question, options in content.QUESTIONNAIRE
        ),
        headphone_trials=trials,
        headphone_urls=tuple(flow.headphone_audio_urls(trials)) if trials else (),
        clips=tuple(
            _preview_clip(
                clips[clip_id],
                number=0 if clip_id in practice else index - len(practice) + 1,
                total=len(chosen),
                design=info.design,
            )
            for index, clip_id in enumerate(order)
        ),
        pages=tuple(
            PreviewPage(
                number=number,
                total=len(planned),
                trial_type=info.design.trial_type,
                clips=tuple(
                    _preview_clip(clips[clip_id], number=slot, total=len(page), design=info.design)
                    for slot, (clip_id, _) in enumerate(page, start=1)
                ),
            )
            for number, page in enumerate(planned, start=1)
        ),
        codes={
            "completed": design.get("completion_code"),
            "screened out": design.get("screened_out_code"),
            "returned": design.get("returned_code"),
        },
    )


def _preview_clip(clip: Any, *, number: int, total: int, design: flow.StudyDesign) -> PreviewClip:
    seconds = float(clip.duration_s)
    return PreviewClip(
        number=number,
        total=total,
        condition=clip.condition,
        role=clip.role,
        audio_url=clipserve.clip_url(clip.audio_sha256, clip.audio_format),
        duration_s=seconds,
        min_listen_seconds=(
            0.0  # MUSHRA: the listener's choice unless the study sets one (as in `flow`)
            if design.trial_type == "mushra" and design.min_listen_seconds is None
            else design.minimum_listening(seconds)
        ),
    )
