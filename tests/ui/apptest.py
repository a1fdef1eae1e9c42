"""One way to open a page under streamlit.testing, shared by the AppTest page tests."""

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

RESULTS_PASSWORD = "results are for researchers"


def page_app(page: str, *, timeout_s: float = 60, **query: str) -> AppTest:
    """`pages/<page>.py` with these query parameters, not yet run."""
    app = AppTest.from_file(str(REPO_ROOT / "pages" / f"{page}.py"), default_timeout=timeout_s)
    for key, value in query.items():
        app.query_params[key] = value
    return app


def evaluator_page(**query: str) -> AppTest:
    """The evaluator page (`pages/study.py`) opened from a link with these parameters."""
    return page_app("study", **query).run()


def log_in(app: AppTest, password: str) -> AppTest:
    """Type the password into the page's first text box and press "Log in"."""
    app.text_input[0].input(password)
    next(button for button in app.button if button.label == "Log in").click().run()
    return app


def results_login(password: str = RESULTS_PASSWORD, *, timeout_s: float = 180) -> AppTest:
    """The Results page after a login attempt with `password`."""
    app = log_in(page_app("results", timeout_s=timeout_s).run(), password)
    assert not app.exception, app.exception
    return app
