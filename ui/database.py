"""The app's database engine: opened (and migrated) once per server process."""

import streamlit as st

from drumeval.errors import DrumevalError
from drumeval.study import database


@st.cache_resource(show_spinner=False)
def _open(url: str):
    return database.open_app_database(url)


def engine():
    """The migrated engine, or a clear message and a stopped page when the DB is unusable."""
    try:
        return _open(database.app_database_url())
    except DrumevalError as error:
        st.error(f"The study database is not available right now: {error}")
        st.stop()
