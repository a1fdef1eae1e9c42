"""drumeval web app: thin Streamlit views over the library (run with `make run`)."""

import streamlit as st

st.set_page_config(page_title="drumeval", page_icon=":material/graphic_eq:", layout="wide")

# URL paths differ from the file names on purpose: Streamlit resolves a first-load deep link
# that matches a file in pages/ without running this entry point (no navigation, no layout).
PAGES = [
    st.Page("pages/home.py", title="About", icon=":material/info:", default=True),
    st.Page(
        "pages/generate.py", title="Generate & listen", icon=":material/tune:", url_path="listen"
    ),
    st.Page(
        "pages/corpora.py",
        title="Training corpora",
        icon=":material/library_music:",
        url_path="training-data",
    ),
]

navigation = st.navigation(PAGES, position="hidden")
with st.sidebar:
    st.markdown("### drumeval")
    for page in PAGES:
        st.page_link(page)
navigation.run()
