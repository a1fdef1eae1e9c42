"""drumeval web app (placeholder until the corpus page lands)."""

import streamlit as st

st.set_page_config(page_title="drumeval", page_icon="🥁")
st.title("drumeval")
st.write("Evolving 2-minute drum tracks from DrumsRNN and MusicVAE, evaluated by listeners.")
