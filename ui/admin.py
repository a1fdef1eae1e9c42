"""The researcher pages (`/admin`): password gate, studies, creating a study, the clip pool.

Every action goes through `drumeval.study.setup`, `drumeval.study.pool` and
`drumeval.study.admin_auth` (the same functions as `drumeval study …` on a terminal); this
module only lays out widgets and turns `DrumevalError`s into messages.
"""

import functools
import time
from urllib.parse import urlparse

import streamlit as st

from drumeval.analysis.export import headphone_test_counts
from drumeval.analysis.from_db import load_study, screening_counts
from drumeval.errors import DrumevalError
from drumeval.study import admin_auth, pool, setup
from ui.progress import streamlit_progress

LOGIN_KEY = "admin:logged_in"
REFRESH_SECONDS = 5
DEFAULT_BASE_URL = "http://localhost:8501"


@st.cache_resource(show_spinner=False)
def _throttle() -> admin_auth.LoginThrottle:
    """One throttle per server process: failed logins from every session count together."""
    return admin_auth.LoginThrottle()


def _secret_password() -> str | None:
    """The password from Streamlit's secrets, when a secrets file defines it."""
    try:
        value = st.secrets.get(admin_auth.PASSWORD_ENV)
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None
    return str(value) if value else None


def password_gate() -> bool:
    """True once this session has logged in; otherwise the login form (or why there is none)."""
    if st.session_state.get(LOGIN_KEY):
        return True
    st.title("Researcher pages")
    try:
        source = admin_auth.password_source(secret_password=_secret_password())
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return False
    if source is None:
        st.error(admin_auth.NO_PASSWORD_MESSAGE, icon=":material/key_off:")
        return False
    with st.form("admin-login"):
        password = st.text_input("Admin password", type="password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        try:
            admin_auth.check_login(
                password, source=source, throttle=_throttle(), now=time.monotonic()
            )
        except DrumevalError as error:
            st.error(str(error), icon=":material/lock:")
            return False
        st.session_state[LOGIN_KEY] = True
        st.rerun()
    return False


def _base_url() -> str:
    """The app's address as the researcher's browser sees it (for invite links)."""
    url = st.context.url
    if not url:
        return DEFAULT_BASE_URL
    parts = urlparse(url)
    path = parts.path.rstrip("/").removesuffix("/admin")
    return f"{parts.scheme}://{parts.netloc}{path}"


def admin_view(engine) -> None:
    st.title("Researcher pages")
    studies_tab, create_tab, pool_tab = st.tabs(["Studies", "Create a study", "Clip pool"])
    with studies_tab:
        studies_section(engine)
    with create_tab:
        create_section(engine)
    with pool_tab:
        pool_section(engine)


# --- studies -----------------------------------------------------------------------------


def studies_section(engine) -> None:
    archived = st.toggle("Show archived studies", key="admin:archived")
    summaries = setup.list_summaries(engine, include_archived=archived)
    if not summaries:
        st.info("No study yet: build a clip pool, then create a study.")
        return
    labels = {
        s.slug: f"{s.title} ({s.slug}, {s.status}{', archived' if s.archived else ''})"
        for s in summaries
    }
    slug = st.selectbox("Study", list(labels), format_func=labels.get, key="admin:study")
    summary = next(s for s in summaries if s.slug == slug)
    url = setup.invite_url(_base_url(), slug)
    link, qr = st.columns([3, 1])
    with link:
        st.markdown("**Invite link** (copy it to your participants)")
        st.code(url, language=None)
        open_button, grace, close_button = st.columns(3, vertical_alignment="bottom")
        if open_button.button(
            "Open the study", disabled=summary.status != "draft", key="admin:open"
        ):
            _act(setup.open_study, engine, slug, f"Study {slug!r} is open.")
        grace_minutes = grace.number_input(
            "Minutes to finish after closing",
            min_value=0,
            max_value=setup.MAX_GRACE_MINUTES,
            value=setup.DEFAULT_GRACE_MINUTES,
            step=15,
            help="Those who started before the study closed may still finish (and get their "
            "completion code) within this time; nobody new can start.",
            disabled=summary.status != "open",
            key="admin:grace",
        )
        if close_button.button(
            "Close the study", disabled=summary.status != "open", key="admin:close"
        ):
            _act(
                functools.partial(setup.close_study, grace_minutes=int(grace_minutes)),
                engine,
                slug,
                f"Study {slug!r} is closed; those who started have {grace_minutes} minutes "
                "to finish.",
            )
    with qr:
        st.image(setup.invite_qr_svg(url), caption="Scan to open the study", width=160)
    for warning in setup.study_blinding_warnings(engine, slug):
        st.warning(f"Blinding: {warning}.", icon=":material/visibility:")
    if preview_panel(engine, slug):
        return
    progress_panel(engine, slug)
    state = setup.study_status(engine, slug)
    stimuli_section(state)
    recruitment_section(engine, state)
    manage_section(engine, summary, state)


def _act(action, engine, slug: str, message: str) -> None:
    try:
        action(engine, slug)
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.toast(message)
    st.rerun()


@st.fragment(run_every=REFRESH_SECONDS)
def progress_panel(engine, slug: str) -> None:
    """Live counts; refreshes itself every few seconds without rerunning the page."""
    try:
        state = setup.study_status(engine, slug)
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.markdown(f"**Status:** {state.status}" + (" · demo study" if state.is_demo else ""))
    columns = st.columns(5)
    for column, key in zip(
        columns, ("started", "finished", "screened_out", "declined", "ratings"), strict=True
    ):
        column.metric(key.replace("_", " ").capitalize(), state.counts[key])
    st.markdown("**Ratings per condition**")
    st.dataframe(
        {"condition": list(state.per_condition), "ratings": list(state.per_condition.values())},
        hide_index=True,
    )
    st.markdown("**Ratings per clip**")
    st.dataframe(
        {
            "clip": [clip.clip_id for clip in state.clips],
            "condition": [clip.condition for clip in state.clips],
            "ratings": [clip.ratings for clip in state.clips],
            "median seconds listened": [clip.median_seconds for clip in state.clips],
        },
        hide_index=True,
    )
    st.markdown("**Post-screening** (participants each of the study's rules flags)")
    try:
        counts = screening_counts(engine, slug)
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
    else:
        st.dataframe(
            {"rule": list(counts), "participants flagged": list(counts.values())},
            hide_index=True,
        )
    headphone_panel(engine, slug)
    st.caption(f"Refreshes every {REFRESH_SECONDS} s.")
    if state.config_text:
        with st.expander("Study config (keep it to recreate the study exactly)"):
            st.code(state.config_text, language="toml")


def headphone_panel(engine, slug: str) -> None:
    """Each headphone test's passes and failures: a "both" screen screens out on either."""
    try:
        counts = headphone_test_counts(load_study(engine, slug).participants)
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    if counts.empty:
        return
    st.markdown("**Headphone check** (participants per test)")
    st.dataframe(counts, hide_index=True)


# --- the study's stimuli, recruiting settings and management ------------------------------


def stimuli_section(state: setup.StudyStatus) -> None:
    """Which clips are in the study: what a paper's supplement lists (the export's
    `stimuli` table)."""
    with st.expander(f"Stimuli ({len(state.stimuli)} clips)"):
        st.dataframe(
            {
                column: [getattr(item, column) for item in state.stimuli]
                for column in setup.STIMULUS_COLUMNS
            },
            hide_index=True,
        )


def recruitment_section(engine, state: setup.StudyStatus) -> None:
    """Prolific's codes and URL per ending, the participant target and the timeout after
    which an inactive participant's place is released — shown and editable while it runs."""
    design = state.design
    with st.expander("Recruiting (Prolific): codes, target, released places"):
        with st.form(f"recruit:{state.slug}"):
            url = st.text_input(
                "Completion URL ({code} or cc= takes each ending's code)",
                design.get("completion_url") or "",
            )
            left, middle, right = st.columns(3)
            completed = left.text_input("Completed code", design.get("completion_code") or "")
            screened = middle.text_input("Screened-out code", design.get("screened_out_code") or "")
            returned = right.text_input("Returned code", design.get("returned_code") or "")
            left, right = st.columns(2)
            target = left.number_input(
                "Participant target (0: none)", 0, 1_000_000, state.participant_target or 0
            )
            abandon = right.number_input(
                "Release a place after this many inactive minutes (0: never)",
                0,
                7 * 24 * 60,
                state.abandon_minutes or 0,
            )
            saved = st.form_submit_button("Save the recruiting settings")
        if saved:
            values = {
                "completion_url": url.strip() or None,
                "completion_code": completed.strip() or None,
                "screened_out_code": screened.strip() or None,
                "returned_code": returned.strip() or None,
                "participant_target": int(target) or None,
                "abandon_minutes": int(abandon) or None,
            }
            try:
                setup.update_recruitment(engine, state.slug, values)
            except DrumevalError as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.success("Recruiting settings saved.")


def manage_section(engine, summary: setup.StudySummary, state: setup.StudyStatus) -> None:
    """Edit a draft, duplicate, archive or delete the study (the `drumeval study` verbs)."""
    from drumeval.analysis.export import delete_with_backup

    slug = summary.slug
    with st.expander("Edit, duplicate, archive or delete"):
        if summary.status == "draft" and state.counts["consented"] == 0:
            text = st.text_area(
                "Config of this draft", state.config_text or "", height=240, key=f"edit:{slug}"
            )
            if st.button("Save the draft", key=f"edit-save:{slug}"):
                _act(lambda e, s: setup.edit_draft(e, s, text), engine, slug, "Draft saved.")
        new_slug = st.text_input("Link name of the copy", key=f"dup:{slug}")
        if st.button("Duplicate as a new draft", key=f"dup-go:{slug}"):
            copy_slug = new_slug.strip() or setup.random_slug()
            _act(
                lambda e, s: setup.duplicate_study(e, s, copy_slug),
                engine,
                slug,
                f"Study {copy_slug!r} created as a copy of {slug!r}.",
            )
        if st.button(
            "Restore from the archive" if summary.archived else "Archive",
            key=f"archive:{slug}",
            disabled=summary.status == "open",
            help="Archived studies leave the lists; nothing is deleted. Close it first.",
        ):
            _act(
                lambda e, s: setup.archive_study(e, s, archived=not summary.archived),
                engine,
                slug,
                f"Study {slug!r} {'restored' if summary.archived else 'archived'}.",
            )
        ratings = state.counts["ratings"]
        confirm = st.text_input(
            f"Type {slug} to delete it ({ratings} ratings; a JSON backup is written first)",
            key=f"delete-confirm:{slug}",
        )
        if st.button("Delete the study", key=f"delete:{slug}", type="secondary"):
            try:
                backup = delete_with_backup(engine, slug, confirm=confirm.strip() or None)
            except DrumevalError as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.success(f"Study {slug!r} deleted; its backup: {backup}")


# --- preview: every evaluator step, nothing stored ---------------------------------------

PREVIEW_KEY = "admin:preview"


def preview_panel(engine, slug: str) -> bool:
    """A "Preview" button, and once pressed the study as one evaluator sees it, step by
    step (`drumeval.study.preview`: nothing is written). True while the preview shows."""
    if st.session_state.get(PREVIEW_KEY, {}).get("slug") != slug:
        if st.button("Preview as an evaluator", key="preview:start", icon=":material/play_arrow:"):
            st.session_state[PREVIEW_KEY] = {"slug": slug, "step": 0}
            st.rerun()
        return False
    from drumeval.study.preview import preview_study

    try:
        walk = preview_study(engine, slug)
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return False
    state = st.session_state[PREVIEW_KEY]
    steps = walk.steps
    index = min(state["step"], len(steps) - 1)
    st.info(
        f"Preview, step {index + 1} of {len(steps)}: what an evaluator sees. Nothing is "
        "stored (no participant, no rating); the clip's condition is shown to you only.",
        icon=":material/visibility:",
    )
    with st.container(border=True):
        _preview_step(walk, steps[index])
    back, forward, stop = st.columns(3)
    if back.button("Back", disabled=index == 0, key="preview:back"):
        state["step"] = index - 1
        st.rerun()
    if forward.button("Next", disabled=index == len(steps) - 1, key="preview:next"):
        state["step"] = index + 1
        st.rerun()
    if stop.button("End the preview", key="preview:stop"):
        del st.session_state[PREVIEW_KEY]
        st.rerun()
    return True


def _preview_step(walk, step: str) -> None:
    from drumeval.study import headphone
    from ui.player import blind_player
    from ui.study import rating_questions

    if step == "consent":
        st.subheader(walk.study.title)
        st.text(walk.consent_text)
    elif step == "questionnaire":
        st.subheader("A few questions about you")
        for key, question, options in walk.questionnaire:
            st.radio(question, options, index=None, key=f"preview:q:{key}")
    elif step == "headphones":
        st.subheader("Headphone check")
        st.markdown(headphone.instructions(walk.study.design.headphone_screen))
        pairs = zip(walk.headphone_trials, walk.headphone_urls, strict=True)
        for number, (trial, url) in enumerate(pairs, start=1):
            wording = headphone.WORDING[type(trial)]
            blind_player(
                src=url,
                token=f"preview-hp{number}",
                min_seconds=headphone.TRIAL_SECONDS,
                key=f"preview:hp:{number}",
                locked_text="Play the sound to the end to answer",
                unlocked_text="Played — now answer below.",
            )
            st.radio(
                wording.question.format(number=number),
                (0, 1, 2),
                format_func=lambda index, word=wording.option: f"{word} {index + 1}",
                index=None,
                horizontal=True,
                key=f"preview:hp-answer:{number}",
            )
            st.caption(f"For you only: the answer is {wording.option} {trial.answer + 1}.")
    elif step == "instructions":
        st.subheader("How to rate")
        st.markdown(walk.describe("instructions"))
    elif step.startswith("clip:"):
        clip = walk.clips[int(step.removeprefix("clip:"))]
        st.subheader("Practice clip" if clip.number == 0 else f"Clip {clip.number} of {clip.total}")
        st.caption(f"For you only: {clip.condition} ({clip.role})")
        blind_player(
            src=clip.audio_url,
            token=f"preview-{step}",
            min_seconds=clip.min_listen_seconds,
            key=f"preview:player:{step}",
        )
        rating_questions(walk.study.design.criteria, f":preview:{step}")
    elif step.startswith("page:"):
        _preview_page(walk.pages[int(step.removeprefix("page:"))], step)
    else:
        st.subheader("Thank you!")
        st.markdown(walk.describe("finished"))


def _preview_page(page, step: str) -> None:
    """A pairwise page (the A/B player, the vote buttons) or a MUSHRA page (a player and a
    slider per track) as the evaluator sees it, read-only: no vote or score can be sent."""
    from ui.player import ab_player, blind_player
    from ui.study import _OUTCOMES

    pairwise = page.trial_type == "pairwise"
    st.subheader(f"{'Pair' if pairwise else 'Page'} {page.number} of {page.total}")
    slots = "AB" if pairwise else [f"Track {n}" for n in range(1, len(page.clips) + 1)]
    st.caption(
        "For you only: "
        + "; ".join(
            f"{slot} = {clip.condition} ({clip.role})"
            for slot, clip in zip(slots, page.clips, strict=True)
        )
    )
    if pairwise:
        ab_player(
            sources=(page.clips[0].audio_url, page.clips[1].audio_url),
            token=f"preview-{step}",
            min_seconds=page.clips[0].min_listen_seconds,
            key=f"preview:pair:{step}",
        )
        for column, (_, label) in zip(st.columns(len(_OUTCOMES)), _OUTCOMES, strict=True):
            column.button(label, key=f"preview:{step}:{label}", disabled=True, width="stretch")
        st.caption("The preview takes no vote.")
        return
    st.markdown("Rate each track from **0** (bad) to **100** (excellent). Move every slider.")
    for slot, clip in zip(slots, page.clips, strict=True):
        with st.container(border=True):
            st.markdown(f"**{slot}**")
            blind_player(
                src=clip.audio_url,
                token=f"preview-{step}-{slot}",
                min_seconds=clip.min_listen_seconds,
                key=f"preview:player:{step}:{slot}",
            )
            st.slider(
                f"Score of {slot.lower()}", 0, 100, 50, disabled=True, key=f"preview:{step}:{slot}"
            )
    st.caption("The preview takes no scores.")


# --- creating a study --------------------------------------------------------------------


def _pool_conditions(engine) -> dict[str, int]:
    counts: dict[str, int] = {}
    for clip in pool.pool_clips(engine):
        if clip.role in ("generated", "imported"):
            counts[clip.condition] = counts.get(clip.condition, 0) + 1
    return counts


def create_section(engine) -> None:
    conditions = _pool_conditions(engine)
    if not conditions:
        st.info("The clip pool is empty: build clips or import MIDI in the Clip pool tab.")
    st.button(
        "Random link name",
        help="A slug that reveals nothing about the study (it is in every evaluator's URL).",
        on_click=lambda: st.session_state.update({"create:slug": setup.random_slug()}),
        key="create:random-slug",
    )
    with st.form("admin-create"):
        title = st.text_input("Title (yours; may name the conditions)", key="create:title")
        public_title = st.text_input(
            "Public title (what evaluators see; empty: the title)", key="create:public-title"
        )
        slug = st.text_input(
            "Link name (slug)", help="Lowercase letters, digits, hyphens", key="create:slug"
        )
        chosen = st.multiselect(
            "Conditions",
            list(conditions),
            format_func=lambda name: f"{name} ({conditions[name]} clips)",
            key="create:conditions",
        )
        left, right = st.columns(2)
        per_condition = left.number_input("Clips per condition", 1, 1000, 2, key="create:per")
        per_participant = right.number_input(
            "Clips per participant", 1, setup.MAX_CLIPS_PER_PARTICIPANT, 6, key="create:cpp"
        )
        references = left.number_input("Human references per corpus", 0, 100, 1, key="create:ref")
        anchors = right.number_input("Low anchors per corpus", 0, 100, 1, key="create:anc")
        min_listen = left.number_input(
            "Minimum listening (s, 0 = whole clip less 5 s)", 0, 600, 0, key="create:min"
        )
        seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="create:seed")
        headphone_check = st.checkbox("Headphone check", value=True, key="create:hp")
        practice = st.checkbox("Practice clip first", value=True, key="create:practice")
        consent = st.text_area("Consent text (empty: the default)", key="create:consent")
        completion_url = st.text_input("Completion URL (optional)", key="create:url")
        completion_code = st.text_input("Completion code (optional)", key="create:code")
        participants = st.number_input(
            "Participants for the plan preview", 1, 10_000, 30, key="create:n"
        )
        preview = st.form_submit_button("Preview the plan")
        create = st.form_submit_button("Create the study", type="primary")
    values = {
        "title": title,
        "public_title": public_title.strip() or None,
        "slug": slug.strip(),
        "seed": int(seed),
        "conditions": chosen,
        "clips_per_condition": int(per_condition),
        "clips_per_participant": int(per_participant),
        "references": int(references),
        "anchors": int(anchors),
        "practice": practice,
        "min_listen_seconds": int(min_listen) or None,
        "headphone_check": headphone_check,
        "consent_text": consent.strip() or None,
        "completion_url": completion_url.strip() or None,
        "completion_code": completion_code.strip() or None,
    }
    if preview or create:
        _preview_and_create(engine, setup.config_to_toml(values), int(participants), create)
    with st.expander("Or create it from a study config (TOML)"):
        text = st.text_area("Study config", height=240, key="create:toml")
        if st.button("Create from this config", key="create:from-toml"):
            _preview_and_create(engine, text, int(participants), True)


def _preview_and_create(engine, text: str, participants: int, create: bool) -> None:
    try:
        config = setup.parse_config(text)
        selection = setup.select_clips(engine, config)
        plan = setup.plan_preview(
            selection.counts(),
            clips_per_participant=config.clips_per_participant,
            participants=participants,
        )
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    for warning in setup.blinding_warnings(config):
        hint = (
            " (“Random link name” gives one that reveals nothing)" if "the slug" in warning else ""
        )
        st.warning(f"Blinding: {warning}{hint}.", icon=":material/visibility:")
    st.markdown(
        f"**Plan:** {plan.clips} clips; with {plan.participants} participants, "
        f"{plan.ratings} ratings, about {plan.per_clip:.1f} per clip."
    )
    st.dataframe(
        {
            "condition": list(plan.per_condition),
            "clips": list(selection.counts().values()),
            "expected ratings": [round(value, 1) for value in plan.per_condition.values()],
        },
        hide_index=True,
    )
    if not create:
        return
    try:
        summary = setup.create_study(engine, text)
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.success(
        f"Study {summary.slug!r} created as a draft with {summary.clips} clips: "
        "open it in the Studies tab."
    )


# --- the clip pool -----------------------------------------------------------------------


def pool_section(engine) -> None:
    clips = pool.pool_clips(engine)
    counts: dict[tuple[str, str], int] = {}
    for clip in clips:
        counts[(clip.condition, clip.role)] = counts.get((clip.condition, clip.role), 0) + 1
    st.markdown(f"**{len(clips)} clips in the pool**")
    if counts:
        st.dataframe(
            {
                "condition": [condition for condition, _ in counts],
                "role": [role for _, role in counts],
                "clips": list(counts.values()),
            },
            hide_index=True,
        )
    build_form(engine)
    upload_form(engine)


def build_form(engine) -> None:
    from drumeval.registry import CORPUS_SIZES, DEFAULT_PRESETS, GENRE_NAMES, MODEL_NAMES

    st.subheader("Build clips from the shipped models")
    with st.form("admin-build"):
        models = st.multiselect("Models", MODEL_NAMES, default=list(MODEL_NAMES), key="b:m")
        genres = st.multiselect("Genres", GENRE_NAMES, default=list(GENRE_NAMES), key="b:g")
        left, right = st.columns(2)
        size = left.selectbox("Corpus size", CORPUS_SIZES, key="b:size")
        bars = right.select_slider("Bars", list(range(4, 61, 4)), value=60, key="b:bars")
        per_condition = left.number_input("Clips per condition", 1, 100, 2, key="b:per")
        seed = right.number_input("First seed", 0, 2**31 - 1, 0, key="b:seed")
        kit = _kit_choice("b:kit")
        submitted = st.form_submit_button("Build the missing clips")
    if not submitted:
        return
    from drumeval.clips import Condition

    bar = st.progress(0.0, text="Starting…")
    try:
        conditions = [
            Condition(model, DEFAULT_PRESETS[model], genre, size, 1.0, bars, int(seed))
            for model in models
            for genre in genres
        ]
        report = pool.build_pool(
            engine,
            conditions=conditions,
            per_condition=int(per_condition),
            seed=int(seed),
            kit=kit,
            progress=streamlit_progress(bar),
        )
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.success(f"{len(report.added)} clips added, {len(report.existing)} were already there.")
    for what, why in report.skipped:
        st.warning(f"Skipped {what}: {why}")


def _kit_choice(key: str) -> str | None:
    """Each genre's own kit (None) or one kit for every clip, so timbre cannot tell the genre."""
    from drumeval.audio import GENRE_KITS, KITS

    own = ", ".join(f"{kit} for {genre}" for genre, kit in GENRE_KITS.items())
    return st.selectbox(
        "Drum kit",
        [None, *KITS],
        format_func=lambda kit: f"each genre's own ({own})" if kit is None else f"{kit} for all",
        key=key,
        help="With one kit for all, listeners cannot name the genre from the sound alone; "
        "the clips' condition names start with kit-<name>/.",
    )


def upload_form(engine) -> None:
    from drumeval.registry import GENRE_NAMES

    st.subheader("Import MIDI files as a condition")
    st.caption(
        "Any generator's drum MIDI (4/4): each file is validated and rendered in the genre's "
        "kit (or the one drum kit chosen below) at the pool's loudness; files are stored by "
        "content hash, never by their name."
    )
    with st.form("admin-upload", clear_on_submit=True):
        files = st.file_uploader(
            "MIDI files",
            type=["mid", "midi"],
            accept_multiple_files=True,
            max_upload_size=pool.MAX_UPLOAD_MB,
            key="u:files",
        )
        left, right = st.columns(2)
        condition = left.text_input("Condition name", placeholder="e.g. magenta-original")
        genre = right.selectbox("Genre (its kit renders them)", GENRE_NAMES)
        kit = _kit_choice("u:kit")
        submitted = st.form_submit_button("Import")
    if not submitted:
        return
    if not files:
        st.warning("Choose at least one MIDI file.")
        return
    bar = st.progress(0.0, text="Importing…")
    try:
        result = pool.import_midi(
            engine,
            [(file.name, file.getvalue()) for file in files],
            condition=condition,
            genre=genre,
            kit=kit,
            progress=streamlit_progress(bar),
        )
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    if result.imported:
        st.success(f"{len(result.imported)} clip(s) imported as {condition.strip()!r}.")
    for name, reason in result.skipped:
        st.error(f"Skipped {name}: {reason}", icon=":material/block:")
    for name, warning in result.duplicates:
        st.warning(f"{name}: {warning}", icon=":material/content_copy:")
