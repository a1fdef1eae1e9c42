"""The app's database engine: opened (and migrated) once per server process."""

import streamlit as st

from drumeval.errors import DrumevalError


@st.cache_resource(show_spinner=False)
def _open(url: str):
    from db.engine import open_database

    return open_database(url)


def engine():
    """The migrated engine, or a clear message and a stopped page when the DB is unusable."""
    from db.engine import database_url

    try:
        return _open(database_url())
    except DrumevalError as error:
        st.error(f"The study database is not available right now: {error}")
        st.stop()
