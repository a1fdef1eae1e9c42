"""The researcher pages (`/admin`), behind the admin password: studies, creation, clip pool."""

import streamlit as st

from ui import admin
from ui.database import engine as database_engine

if not admin.password_gate():
    st.stop()
admin.admin_view(database_engine())
