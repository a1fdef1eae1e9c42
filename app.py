"""drumeval web app: thin Streamlit views over the library (run with `make run`)."""

import streamlit as st

st.set_page_config(page_title="drumeval", page_icon="🥁", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="About", icon="🥁", default=True),
        st.Page("pages/generate.py", title="Generate & listen", icon="🎛️"),
        st.Page("pages/corpora.py", title="Training corpora", icon="📚"),
    ]
)
navigation.run()
