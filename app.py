"""drumeval web app: thin Streamlit views over the library (run with `make run`).

Serve it with `python -m drumeval.serve` (see drumeval/serve.py for why not `streamlit run`).
URL paths differ from the file names on purpose, so no URL can be mistaken for a file.
"""

import streamlit as st

st.set_page_config(page_title="drumeval", page_icon="🥁")

PUBLIC_PAGES = [
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
    st.Page("pages/arena.py", title="Arena", icon=":material/compare_arrows:", url_path="arena"),
]
# Evaluators arrive by invite link and see no navigation: nothing on their screen may hint
# at which model made a clip.
STUDY_PAGE = st.Page(
    "pages/study.py", title="Listening study", icon=":material/headphones:", url_path="study"
)

ADMIN_PAGE = st.Page(
    "pages/admin.py", title="Researcher pages", icon=":material/lab_profile:", url_path="admin"
)
RESULTS_PAGE = st.Page(
    "pages/results.py", title="Results", icon=":material/monitoring:", url_path="results"
)

RESEARCHER_PAGES = [ADMIN_PAGE, RESULTS_PAGE]

navigation = st.navigation([*PUBLIC_PAGES, *RESEARCHER_PAGES, STUDY_PAGE], position="hidden")
evaluator = navigation.url_path == STUDY_PAGE.url_path
st.set_page_config(layout="centered" if evaluator else "wide")
if not evaluator:
    with st.sidebar:
        st.markdown("### drumeval")
        for page in [*PUBLIC_PAGES, *RESEARCHER_PAGES]:
            st.page_link(page)
navigation.run()
