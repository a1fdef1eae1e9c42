"""The evaluator's screens: each takes the study and progress, renders, and acts through
`drumeval.study.flow`. Nothing here names a model, a preset, a corpus or a file."""

import logging
from dataclasses import dataclass

import streamlit as st

from drumeval.errors import DatabaseError, DrumevalError, StudyClosedError, StudyDesignError
from drumeval.study import content, flow, headphone
from ui.player import Listening, ab_player, blind_player

_log = logging.getLogger(__name__)

_redirect = st.components.v2.component(
    "drumeval_redirect",
    js="""
export default function ({ data }) {
  if (data && data.url) {
    setTimeout(() => { window.top.location.href = data.url; }, data.delay_ms);
  }
}
""",
)
# Streamlit keeps the scroll position across reruns, so a screen that follows a button at the
# bottom of a long one (the next clip after "Submit rating") opened scrolled past its heading
# and player. Each new view (step, or clip within the rating step) starts at the top; reruns
# within one view (the player's progress reports) leave the scroll alone.
_start_at_top = st.components.v2.component(
    "drumeval_start_at_top",
    js="""
let shownView = null;

function scrollableAncestors(element) {
  const found = [];
  for (let node = element; node; node = node.parentNode || node.host) {
    if (node.nodeType === Node.ELEMENT_NODE && node.scrollTop > 0) found.push(node);
  }
  return found;
}

export default function ({ data, parentElement }) {
  if (data.view === shownView) return;
  shownView = data.view;
  for (const element of scrollableAncestors(parentElement)) element.scrollTop = 0;
  window.scrollTo(0, 0);
}
""",
)
REDIRECT_DELAY_MS = 5000
PENDING_KEY = "pending-rating"
RATING_ERROR_KEY = "rating-error"
RETRY_EVERY_S = 3


@dataclass(frozen=True)
class PendingRating:
    """A submitted rating the database could not take yet: kept until it is written."""

    slug: str
    token: str
    clip_id: int
    form: flow.RatingForm
    heard_seconds: float
    plays: int

    def write(self, engine, study: flow.StudyInfo) -> None:
        flow.submit_rating(
            engine,
            study,
            self.token,
            clip_id=self.clip_id,
            form=self.form,
            heard_seconds=self.heard_seconds,
            plays=self.plays,
        )


@dataclass(frozen=True)
class PendingVote:
    """A submitted pairwise vote, kept like a `PendingRating` until it is written."""

    slug: str
    token: str
    trial_id: int
    outcome: str
    reason: str
    heard: tuple[float, float]

    def write(self, engine, study: flow.StudyInfo) -> None:
        flow.submit_vote(
            engine,
            study,
            self.token,
            trial_id=self.trial_id,
            outcome=self.outcome,
            reason=self.reason,
            heard=dict(enumerate(self.heard)),
        )


@dataclass(frozen=True)
class PendingScores:
    """A submitted multi-stimulus page, kept like a `PendingRating` until it is written."""

    slug: str
    token: str
    trial_id: int
    scores: dict[int, int | None]
    heard: dict[int, float]

    def write(self, engine, study: flow.StudyInfo) -> None:
        flow.submit_scores(
            engine, study, self.token, trial_id=self.trial_id, scores=self.scores, heard=self.heard
        )


def flush_pending_rating(engine) -> None:
    """Write the submitted rating (or one kept from an earlier failed submit) before the page
    renders, so that the same script run shows the next clip.

    While the database is unreachable the page shows a retryable message and tries again
    every few seconds by itself; the rating is written once (submits are idempotent). A
    rating the flow refuses (e.g. a question left out) is dropped and its reason shown
    under the form, whose answers are kept.
    """
    pending: PendingRating | PendingVote | PendingScores | None = st.session_state.get(PENDING_KEY)
    if pending is None:
        return
    try:
        pending.write(engine, flow.load_study(engine, pending.slug, returning=True))
    except DatabaseError:
        _waiting_for_database()
        st.stop()
    except DrumevalError as error:
        st.session_state[RATING_ERROR_KEY] = str(error)
    del st.session_state[PENDING_KEY]


_rerun_timer = st.components.v2.component(
    "drumeval_rerun_timer",
    js="""
export default function ({ data, setTriggerValue }) {
  const timer = setTimeout(() => setTriggerValue("tick", Date.now()), data.delay_ms);
  return () => clearTimeout(timer);
}
""",
)


def _retry_soon() -> None:
    """Ask the browser to rerun the page shortly (the server cannot push a rerun itself)."""
    attempt = st.session_state.get("retry-attempt", 0) + 1
    st.session_state["retry-attempt"] = attempt
    _rerun_timer(
        data={"delay_ms": RETRY_EVERY_S * 1000, "attempt": attempt},  # new data: a new timer
        key="retry-timer",
        on_tick_change=lambda: None,
    )


def _waiting_for_database() -> None:
    st.warning(
        "We could not save your rating yet because the server is busy. It is kept and will "
        "be saved automatically in a moment — please keep this page open.",
        icon=":material/hourglass_top:",
    )
    _retry_soon()


def start_at_top(progress: flow.Progress) -> None:
    """Scroll to the top when the screen shows a new step or a new clip."""
    position = progress.clip.position if progress.clip is not None else ""
    if progress.page is not None:
        position = progress.page.number
    _start_at_top(data={"view": f"{progress.step.value}:{position}"}, key="start-at-top")


def closing_notice(study: flow.StudyInfo) -> None:
    """On a closed study (within its grace period): how long is left to finish."""
    minutes = study.minutes_left()
    if minutes is not None:
        st.info(
            f"This study has closed to new participants. You can still finish it: about "
            f"{minutes} minute{'s' if minutes != 1 else ''} left.",
            icon=":material/schedule:",
        )


def show_error(error: DrumevalError) -> None:
    st.error(str(error), icon=":material/error:")


SERVER_BUSY = (
    "The server is busy and could not take this step. Nothing is lost: please try again in "
    "a moment."
)
SOMETHING_WENT_WRONG = (
    "Something went wrong on our side. Your answers so far are saved; please try again later "
    "with your personal link, which keeps your place."
)


def consent_screen(engine, study: flow.StudyInfo, query: dict[str, str]) -> None:
    """Consent, unless the study is full (then the returned code: nobody consents in vain)."""
    st.title(study.title)
    try:
        full = flow.is_full(engine, study)
        text = flow.consent_text(engine, study)
    except DatabaseError:
        st.warning(SERVER_BUSY, icon=":material/hourglass_top:")
        return
    if full:
        full_screen(study, flow.STUDY_FULL_MESSAGE)
        return
    st.subheader("Before you start")
    st.text(text)
    agree, decline = st.columns(2)
    if agree.button("I agree — start the study", type="primary", width="stretch"):
        try:
            token = flow.consent(engine, study, query)
        except StudyClosedError as error:  # filled up or closed while the page was open
            full_screen(study, str(error))
            return
        except DatabaseError:
            st.warning(SERVER_BUSY, icon=":material/hourglass_top:")
            return
        st.session_state[f"seen:{token}"] = True
        st.query_params["t"] = token
        st.rerun()
    if decline.button("I do not agree", width="stretch"):
        try:
            flow.decline(engine, study)
        except DatabaseError:  # only a count is lost; the visitor is done either way
            _log.warning("study %r: a declined consent could not be counted", study.slug)
        st.session_state[f"declined:{study.slug}"] = True
        st.rerun()


def full_screen(study: flow.StudyInfo, message: str) -> None:
    """The study takes nobody new: say so, and send a recruited visitor back with the
    study's returned code (on Prolific: no submission to approve, the place goes back)."""
    st.info(message, icon=":material/group:")
    _send_back(study, study.design.returned_code)


def _send_back(study: flow.StudyInfo, code: str | None, *, completed: bool = False) -> None:
    """Show the recruiting site's code for this ending and take the participant back there
    (Prolific tells completed, screened-out and returned participants apart by the code)."""
    url = study.design.redirect_url(code, completed=completed)
    if code and not completed:
        st.markdown("Your code for the recruiting site:")
        st.code(code, language=None)
    if url:
        st.link_button("Return to the recruiting site", url, type="primary")
        st.caption("You will be taken back automatically in a few seconds.")
        _redirect(data={"url": url, "delay_ms": REDIRECT_DELAY_MS}, key="redirect")


def declined_screen(study: flow.StudyInfo) -> None:
    st.title(study.title)
    st.info("Thank you for your time. Nothing about you has been stored; you can close this page.")
    _send_back(study, study.design.screened_out_code)


def returned_screen(study: flow.StudyInfo) -> None:
    st.title(study.title)
    st.info(
        "You have left this study, or paused for so long that your place went to someone "
        "else. Thank you for your time — nothing more is needed from you."
    )
    _send_back(study, study.design.returned_code)


def leave_button(engine, study: flow.StudyInfo, token: str) -> None:
    """A way out at any step: the participant is sent back with the returned code."""
    with st.expander("Want to stop?"):
        st.caption("Your answers so far are kept. You cannot come back to the study afterwards.")
        if st.button("Leave the study", key="leave"):
            try:
                flow.withdraw(engine, study, token)
            except DrumevalError as error:
                show_error(error)
                return
            st.rerun()


def questionnaire_screen(engine, study: flow.StudyInfo, token: str) -> None:
    st.title("A few questions about you")
    st.caption("Step 1 of 3 · about a minute")
    with st.form("questionnaire"):
        answers = {
            key: st.radio(question, options, index=None, key=f"q:{key}")
            for key, question, options in content.QUESTIONNAIRE
        }
        submitted = st.form_submit_button("Continue", type="primary")
    if submitted:
        try:
            flow.save_questionnaire(engine, study, token, answers)
        except DrumevalError as error:
            show_error(error)
            return
        st.rerun()


def headphone_screen(engine, study: flow.StudyInfo, token: str, progress: flow.Progress) -> None:
    st.title("Headphone check")
    trials = flow.headphone_trials(progress, study.design.headphone_screen)
    tests = headphone.test_count(study.design.headphone_screen)
    minutes = -(-content.HEADPHONE_CHECK_SECONDS * tests // 60)  # what the consent text counts
    st.caption(f"Step 2 of 3 · {len(trials)} sounds, about {minutes} minutes")
    st.markdown(headphone.instructions(study.design.headphone_screen))
    try:
        urls = flow.headphone_audio_urls(trials)
    except DrumevalError as error:
        show_error(error)
        return
    # No st.form: a form would hold back the players' reports, and each sound's answers
    # unlock the moment it has played to the end (an answer to an unheard sound is a guess).
    answers, played = [], []
    for number, (trial, url) in enumerate(zip(trials, urls, strict=True), start=1):
        st.markdown(f"**Sound {number}**")
        wording = headphone.WORDING[type(trial)]
        heard = blind_player(
            src=url,
            token=f"hp{number}",
            min_seconds=headphone.TRIAL_SECONDS,
            key=f"hp-sound:{number}",
            locked_text="Play the sound to the end to answer",
            unlocked_text="Played — now answer below.",
        ).reached(headphone.TRIAL_SECONDS)
        played.append(heard)
        answers.append(
            st.radio(
                wording.question.format(number=number),
                (0, 1, 2),
                format_func=lambda index, word=wording.option: f"{word} {index + 1}",
                index=None,
                horizontal=True,
                disabled=not heard,
                key=f"hp:{number}",
            )
        )
    if st.button("Continue", type="primary"):
        if not all(played):
            st.warning("Please play every sound to the end and answer it.")
            return
        if any(answer is None for answer in answers):
            st.warning("Please answer every sound.")
            return
        try:
            flow.submit_headphone_check(engine, study, token, answers)
        except DrumevalError as error:
            show_error(error)
            return
        st.rerun()


def screened_out_screen(study: flow.StudyInfo) -> None:
    st.title(study.title)
    st.info(
        "Thank you for taking part. This study needs headphones, and the check suggests the "
        "sound is not reaching you through them, so the study ends here. You can close this page."
    )
    _send_back(study, study.design.screened_out_code)


_TRIAL_INSTRUCTIONS = {
    "pairwise": (
        "You will hear **{n} pairs** of drum tracks. For each pair, listen to **A** and "
        "**B** — switch between them at any moment, they play from the same position — and "
        "say which one you prefer: A, B, a tie, or both bad. The vote unlocks once you have "
        "heard enough of both.",
        "Start",
    ),
    "mushra": (
        "You will see **{n} pages** of drum tracks. On each page, play every track and rate "
        "it from 0 (bad) to 100 (excellent) with its slider; move every slider (each starts "
        "unrated). Compare the tracks with each other as you go.",
        "Start",
    ),
}


def instructions_screen(engine, study: flow.StudyInfo, token: str) -> None:
    if study.design.trial_type in _TRIAL_INSTRUCTIONS:
        text, button = _TRIAL_INSTRUCTIONS[study.design.trial_type]
        st.title("How it works")
        st.caption("Step 3 of 3")
        st.markdown(text.format(n=study.design.clips_per_participant))
        if st.button(button, type="primary") and _start(engine, study, token):
            st.rerun()
        return
    st.title("How to rate")
    st.caption("Step 3 of 3 · then the clips")
    st.markdown(
        f"You will hear **{study.design.clips_per_participant} drum tracks**, one at a time, "
        "after one practice clip. Listen to each track to the end — long-term structure needs "
        "the whole track — then rate it on these criteria:"
    )
    if study.design.criteria is not None:
        for question in study.design.criteria:
            st.markdown(
                f"- **{question.label}**" + (f" — {question.help}" if question.help else "")
            )
    else:
        for criterion in content.CRITERIA:
            st.markdown(f"- **{criterion.label}** — {criterion.definition}")
        st.markdown(f"- **Genre** — {content.GENRE_DEFINITION}")
        st.markdown(f"The scale: {_literal_dashes(content.SCALE_HELP)}.")
    if st.button("Start with the practice clip", type="primary") and _start(engine, study, token):
        st.rerun()


def _start(engine, study: flow.StudyInfo, token: str) -> bool:
    """Assign the participant's clips or pages; False, with a message, when that failed. A
    design fault (pages that cannot be built) is the researcher's: its reason goes to the
    log, the evaluator sees a neutral message that leaks nothing of the design."""
    try:
        flow.start(engine, study, token)
    except StudyDesignError as error:
        _log.error("%s", error)
        st.error(SOMETHING_WENT_WRONG, icon=":material/error:")
        return False
    except DatabaseError:
        st.warning(SERVER_BUSY, icon=":material/hourglass_top:")
        return False
    except DrumevalError as error:
        show_error(error)
        return False
    return True


def _literal_dashes(text: str) -> str:
    """The thesis's `--` and `-` as minus signs (markdown would turn `--` into a long dash)."""
    return text.replace("-", "−")


def _scale_label(value: int) -> str:
    return _literal_dashes(dict(content.SCALE)[value])


def _form_answers(suffix: str, criteria: tuple[content.Question, ...] | None = None) -> dict:
    """The rating form's answers in this session, by question (`criteria`: the study's own
    questions; a slider counts only once it was moved)."""
    answers = st.session_state
    if criteria is not None:
        given = {
            q.key: answers.get(f"{q.key}{suffix}")
            for q in criteria
            if q.scale != "slider100" or answers.get(f"touched:{q.key}{suffix}")
        }
        return {**given, "comment": answers.get(f"comment{suffix}") or ""}
    return {
        **{c.key: answers.get(f"{c.key}{suffix}") for c in content.CRITERIA},
        "genre": answers.get(f"genre{suffix}"),
        "confidence": answers.get(f"confidence{suffix}"),
        "comment": answers.get(f"comment{suffix}") or "",
    }


def _restore_answers(
    draft: flow.ClipDraft, suffix: str, criteria: tuple[content.Question, ...] | None
) -> None:
    """Tick what the database kept of this clip's answers, once per browser session (before
    the widgets exist: afterwards the session's own answers are the newer ones)."""
    restored_key = f"restored{suffix}"
    if st.session_state.get(restored_key):
        return
    st.session_state[restored_key] = True
    for question, value in flow.draft_answers(draft.answers, criteria).items():
        st.session_state.setdefault(f"{question}{suffix}", value)
        st.session_state[f"touched:{question}{suffix}"] = True


def _save_draft(
    engine, study: flow.StudyInfo, token: str, clip: flow.ClipToRate, listening, suffix: str
) -> None:
    """Keep the listening and answers in the database when they changed since it last heard
    (the player reports every few seconds of listening; each answer is a rerun)."""
    draft = flow.ClipDraft(
        heard_seconds=listening.heard_seconds,
        heard_spans=listening.heard_spans,
        plays=listening.plays,
        answers=flow.draft_answers(
            _form_answers(suffix, study.design.criteria), study.design.criteria
        ),
    )
    # A fragment's rerun keeps the clip of the page's last run: what it saved since is newer.
    saved_key = f"saved-draft:{token}:{clip.position}"
    kept = st.session_state.get(saved_key) or clip.draft
    if (
        draft.heard_seconds <= kept.heard_seconds
        and draft.plays <= kept.plays
        and dict(draft.answers) == dict(kept.answers)
    ):
        return
    try:
        flow.save_clip_draft(engine, study, token, clip_id=clip.clip_id, draft=draft)
        st.session_state[saved_key] = draft
    except DatabaseError as error:  # the next report or answer tries again
        _log.warning("could not keep the draft of clip %s: %s", clip.position, error)


def _queue_rating(
    study: flow.StudyInfo, token: str, clip: flow.ClipToRate, listening, suffix: str
) -> None:
    """The submit button's callback: keep the form's answers as the pending rating, which
    `flush_pending_rating` writes at the top of this very run (one script run per submit)."""
    criteria = study.design.criteria
    answers = _form_answers(suffix, criteria)
    form = (
        flow.RatingForm(
            scores={},
            genre_answer=None,
            genre_confidence=None,
            comment=answers["comment"],
            answers=answers,
            criteria=criteria,
        )
        if criteria is not None
        else flow.RatingForm(
            scores={c.key: answers[c.key] for c in content.CRITERIA},
            genre_answer=answers["genre"],
            genre_confidence=answers["confidence"],
            comment=answers["comment"],
        )
    )
    st.session_state[PENDING_KEY] = PendingRating(
        slug=study.slug,
        token=token,
        clip_id=clip.clip_id,
        form=form,
        heard_seconds=listening.heard_seconds,
        plays=listening.plays,
    )


def rating_screen(engine, study: flow.StudyInfo, token: str, progress: flow.Progress) -> None:
    """One clip: title, player and form, in a fragment (`_rating_area`)."""
    _rating_area(engine, study, token, progress)


@st.fragment
def _rating_area(engine, study: flow.StudyInfo, token: str, progress: flow.Progress) -> None:
    """A fragment: the player's reports and each answer rerun only this area, not the page
    (no study, progress or navigation work, fewer elements sent), so that they cost the
    server little and a submit right after them waits less. "Submit rating" reruns the
    whole page, which writes the rating and shows the next clip in one run."""
    if st.session_state.get(PENDING_KEY) is not None:
        st.rerun(scope="app")
    clip = progress.clip
    assert clip is not None
    if clip.is_training:
        st.title("Practice clip")
        st.caption("Get used to the sounds and the form. This rating does not count.")
    else:
        st.title(f"Clip {clip.number} of {clip.total}")
        st.progress(progress.rated / clip.total)
    try:
        src = clip.audio_url()
    except DrumevalError as error:
        show_error(error)
        return
    draft = clip.draft
    listening = blind_player(
        src=src,
        prefetch=clip.next_audio_url(),
        token=f"{clip.position}",
        min_seconds=clip.min_listen_seconds,
        key=f"player:{clip.position}",
        restored=Listening(
            heard_seconds=draft.heard_seconds, heard_spans=draft.heard_spans, plays=draft.plays
        ),
    )
    unlocked = listening.reached(clip.min_listen_seconds)
    suffix = f":{clip.position}"
    _restore_answers(draft, suffix, study.design.criteria)
    # No st.form: each answer reaches the server as it is ticked, so that it is kept (a
    # form would hold the answers in the browser until "Submit rating").
    with st.container(border=True):
        rating_questions(study.design.criteria, suffix)
        st.text_area(
            "Comment (optional)", max_chars=content.COMMENT_MAX_CHARS, key=f"comment{suffix}"
        )
        st.button(
            "Submit rating" if unlocked else "Listen first to unlock the rating",
            type="primary",
            disabled=not unlocked,
            on_click=_queue_rating,
            args=(study, token, clip, listening, suffix),
        )
    _save_draft(engine, study, token, clip, listening, suffix)
    refused = st.session_state.pop(RATING_ERROR_KEY, None)
    if refused:
        st.error(refused, icon=":material/error:")


def rating_questions(criteria: tuple[content.Question, ...] | None, suffix: str) -> None:
    """The questions under a clip — the study's own `criteria`, or the thesis's form — keyed
    by question + `suffix`; shared by the rating page and /admin's preview so the researcher
    sees exactly the evaluator's form."""
    if criteria is not None:
        _own_questions(criteria, suffix)
    else:
        _thesis_questions(suffix)


def _own_questions(criteria: tuple[content.Question, ...], suffix: str) -> None:
    """A study's own criteria and questions, each on its scale (a slider starts unrated)."""
    for question in criteria:
        key = f"{question.key}{suffix}"
        label = question.label + ("" if question.required else " (optional)")
        choices = content.SCALES.get(question.scale)
        if question.scale == "choice":
            st.radio(label, question.options, index=None, help=question.help or None, key=key)
        elif choices is None:
            st.slider(
                label,
                *content.SLIDER_RANGE,
                **({} if key in st.session_state else {"value": 50}),
                help=question.help or None,
                key=key,
                on_change=_touch,
                args=(key,),
            )
            if not st.session_state.get(f"touched:{key}"):
                st.caption("Not rated yet: move the slider.")
        else:
            labels = dict(choices)
            st.radio(
                label,
                list(labels),
                format_func=lambda value, labels=labels: _literal_dashes(labels[value]),
                index=None,
                horizontal=True,
                help=question.help or None,
                key=key,
            )


def _thesis_questions(suffix: str) -> None:
    """The thesis's form: four criteria on −2…+2, the genre and how sure."""
    st.caption(_literal_dashes(content.SCALE_HELP))
    for criterion in content.CRITERIA:
        st.radio(
            criterion.label,
            [value for value, _ in content.SCALE],
            format_func=_scale_label,
            index=None,
            horizontal=True,
            help=criterion.definition,
            key=f"{criterion.key}{suffix}",
        )
    genre_labels = dict(content.GENRE_OPTIONS)
    st.radio(
        content.GENRE_QUESTION,
        list(genre_labels),
        format_func=genre_labels.get,
        index=None,
        horizontal=True,
        key=f"genre{suffix}",
    )
    st.radio(
        "How sure are you about the genre? (1 = guessing, 5 = certain; "
        "not needed after “Can't tell”)",
        content.CONFIDENCE_OPTIONS,
        index=None,
        horizontal=True,
        key=f"confidence{suffix}",
    )


_OUTCOMES = (("a", "A is better"), ("b", "B is better"), ("tie", "Tie"), ("both_bad", "Both bad"))


def _queue(pending: PendingVote | PendingScores) -> None:
    st.session_state[PENDING_KEY] = pending


def _show_refusal() -> None:
    refused = st.session_state.pop(RATING_ERROR_KEY, None)
    if refused:
        st.error(refused, icon=":material/error:")


def _keep_page(
    engine,
    study: flow.StudyInfo,
    token: str,
    page: flow.TrialPage,
    heard: dict[int, float],
    answers: dict,
) -> None:
    """Keep the page's listening and answers in the database when they changed."""
    grew = any(seconds > page.heard.get(slot, 0.0) for slot, seconds in heard.items())
    if not grew and answers == dict(page.answers):
        return
    try:
        flow.save_page_draft(
            engine, study, token, trial_id=page.trial_id, heard=heard, answers=answers
        )
    except DatabaseError as error:  # the next report or answer tries again
        _log.warning("could not keep the draft of page %s: %s", page.number, error)


def pair_screen(engine, study: flow.StudyInfo, token: str, progress: flow.Progress) -> None:
    page = progress.page
    assert page is not None
    st.title(f"Pair {page.number} of {page.total}")
    st.progress(progress.rated / page.total)
    try:
        sources = tuple(stimulus.audio_url() for stimulus in page.stimuli)
    except DrumevalError as error:
        show_error(error)
        return
    heard_ab, _ = ab_player(
        sources=(sources[0], sources[1]),
        token=str(page.number),
        min_seconds=page.stimuli[0].min_listen_seconds,
        key=f"pair:{page.number}",
        restored=(page.heard.get(0, 0.0), page.heard.get(1, 0.0)),
    )
    heard = dict(enumerate(heard_ab))
    unlocked = not page.unheard(heard)
    reason_key = f"reason:{page.number}"
    if study.design.reason != "none":
        st.session_state.setdefault(reason_key, page.answers.get("reason") or "")
        st.text_area(
            "Why? (required)" if study.design.reason == "required" else "Why? (optional)",
            max_chars=content.COMMENT_MAX_CHARS,
            key=reason_key,
        )
    reason = st.session_state.get(reason_key) or ""
    for column, (outcome, label) in zip(st.columns(len(_OUTCOMES)), _OUTCOMES, strict=True):
        column.button(
            label,
            key=f"vote:{page.number}:{outcome}",
            type="primary" if outcome in ("a", "b") else "secondary",
            width="stretch",
            disabled=not unlocked,
            on_click=_queue,
            args=(PendingVote(study.slug, token, page.trial_id, outcome, reason, heard_ab),),
        )
    if not unlocked:
        st.caption("Listen to both A and B to unlock the vote.")
    _keep_page(engine, study, token, page, heard, {"reason": reason} if reason else {})
    _show_refusal()


def _touch(key: str) -> None:
    st.session_state[f"touched:{key}"] = True


def mushra_screen(engine, study: flow.StudyInfo, token: str, progress: flow.Progress) -> None:
    page = progress.page
    assert page is not None
    st.title(f"Page {page.number} of {page.total}")
    st.progress(progress.rated / page.total)
    st.markdown("Rate each track from **0** (bad) to **100** (excellent). Move every slider.")
    kept = {int(slot): score for slot, score in (page.answers.get("scores") or {}).items()}
    heard: dict[int, float] = {}
    scores: dict[int, int | None] = {}
    for number, stimulus in enumerate(page.stimuli, start=1):
        key = f"score:{page.number}:{stimulus.slot}"
        if stimulus.slot in kept and f"touched:{key}" not in st.session_state:
            st.session_state[key] = kept[stimulus.slot]  # restored from the database
            _touch(key)
        with st.container(border=True):
            st.markdown(f"**Track {number}**")
            try:
                src = stimulus.audio_url()
            except DrumevalError as error:
                show_error(error)
                return
            listening = blind_player(
                src=src,
                token=f"{page.number}-{number}",
                min_seconds=stimulus.min_listen_seconds,
                key=f"stimulus:{page.number}:{stimulus.slot}",
                restored=Listening(heard_seconds=page.heard.get(stimulus.slot, 0.0)),
                locked_text="Listen to rate this track",
                unlocked_text="Rate it with the slider.",
            )
            heard[stimulus.slot] = listening.heard_seconds
            st.slider(
                f"Score of track {number}",
                min_value=0,
                max_value=100,
                **({} if key in st.session_state else {"value": 50}),
                key=key,
                on_change=_touch,
                args=(key,),
            )
            touched = bool(st.session_state.get(f"touched:{key}"))
            scores[stimulus.slot] = int(st.session_state[key]) if touched else None
            if not touched:
                st.caption("Not rated yet: move the slider.")
    ready = all(score is not None for score in scores.values()) and not page.unheard(heard)
    st.button(
        "Submit" if ready else "Listen to and rate every track to submit",
        type="primary",
        disabled=not ready,
        on_click=_queue,
        args=(PendingScores(study.slug, token, page.trial_id, scores, heard),),
    )
    answered = {str(slot): score for slot, score in scores.items() if score is not None}
    _keep_page(engine, study, token, page, heard, {"scores": answered} if answered else {})
    _show_refusal()


def finished_screen(engine, study: flow.StudyInfo, token: str, progress: flow.Progress) -> None:
    st.title("Thank you!")
    try:
        code = progress.completion_code or flow.finish(engine, study, token)
    except DatabaseError:  # every answer is in; only the code waits for the database
        st.warning(SERVER_BUSY, icon=":material/hourglass_top:")
        _retry_soon()
        return
    answers = "votes" if study.design.trial_type == "pairwise" else "ratings"
    st.success(f"All your {answers} are saved. You have finished the study.")
    st.markdown("Your completion code:")
    st.code(code, language=None)
    _send_back(study, code, completed=True)
