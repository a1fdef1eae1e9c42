"""The results of the listening studies (`/results`), behind the admin password."""

import streamlit as st

from ui import admin, results
from ui.database import engine as database_engine

if not admin.password_gate():
    st.stop()
results.results_view(database_engine)
