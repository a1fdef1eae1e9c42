"""Generate a drum track, listen, download it, and see what made it (the URL holds the state)."""

import streamlit as st

from ui import generate_view as view

st.title("Generate & listen")
st.markdown(
    "Make a drum track with one of the two models the thesis compared (or the structure model, "
    "which plays a song form you choose), hear it on the "
    "genre's drum kit, and see its drum grid and numbers beside those of the music the model "
    "learned from. Every setting is in the address bar: copy it to share the exact track."
)
catalogue = view.catalogue()
if not catalogue.rows:
    st.warning("No trained checkpoint is shipped yet: train one with `drumeval train`.")
    st.stop()
view.sync_widgets_from_url()
view.settings(catalogue)
view.generate_button()
view.show_result(catalogue)
