"""The blind listening study, as an evaluator sees it: `/study?s=<slug>` (invite link),
then `&t=<token>` (personal resume link). Every screen is derived from the database."""

import streamlit as st

from drumeval.errors import DrumevalError
from drumeval.study import flow
from ui import study as screens
from ui.database import engine as database_engine

engine = database_engine()
screens.flush_pending_rating(engine)
query = {key: st.query_params[key] for key in st.query_params}
try:
    study = flow.load_study(engine, query.get("s"), returning="t" in query)
except DrumevalError as error:
    st.title("Listening study")
    screens.show_error(error)
    st.stop()

token = query.get("t")
if token is None:
    if st.session_state.get(f"declined:{study.slug}"):
        screens.declined_screen(study)
    else:
        screens.consent_screen(engine, study, query)
    st.stop()

try:
    progress = flow.progress(engine, study, token)
    if not st.session_state.get(f"seen:{token}"):
        flow.log_resume(engine, study, token)
        st.session_state[f"seen:{token}"] = True
except DrumevalError as error:
    st.title(study.title)
    screens.show_error(error)
    st.stop()

screens.start_at_top(progress)
if progress.step not in (flow.Step.FINISHED, flow.Step.SCREENED_OUT, flow.Step.RETURNED):
    screens.closing_notice(study)
match progress.step:
    case flow.Step.QUESTIONNAIRE:
        screens.questionnaire_screen(engine, study, token)
    case flow.Step.HEADPHONES:
        screens.headphone_screen(engine, study, token, progress)
    case flow.Step.SCREENED_OUT:
        screens.screened_out_screen(study)
    case flow.Step.INSTRUCTIONS:
        screens.instructions_screen(engine, study, token)
    case flow.Step.RATING:
        screens.rating_screen(engine, study, token, progress)
    case flow.Step.PAIR:
        screens.pair_screen(engine, study, token, progress)
    case flow.Step.MUSHRA:
        screens.mushra_screen(engine, study, token, progress)
    case flow.Step.FINISHED:
        screens.finished_screen(engine, study, token, progress)
    case flow.Step.RETURNED:
        screens.returned_screen(study)
if progress.step in (
    flow.Step.QUESTIONNAIRE,
    flow.Step.INSTRUCTIONS,
    flow.Step.RATING,
    flow.Step.PAIR,
    flow.Step.MUSHRA,
):
    screens.leave_button(engine, study, token)
