"""Start the web app: `python -m drumeval.serve [streamlit options]` (what `make run` does).

Why not plain `streamlit run app.py`: a folder named `pages/` next to the entry script
switches Streamlit's legacy multipage mode on for every session until the first call to
`st.navigation` turns it off process-wide. The first browser to reach a fresh server is
therefore routed by file name: a deep link such as `/study?s=…` finds no file called
`study`, shows "Page not found" and leaves an inert page, and `/generate` runs that file
without `app.py`. Turning the flag off before the server starts routes every session,
the first included, through `st.navigation` in `app.py`.

It also adds the `/clips/<sha256>.<ext>` route that serves study audio (`drumeval.clipserve`).
"""

import sys

from drumeval import clipserve
from drumeval.paths import REPO_ROOT


def disable_legacy_pages_folder() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def main(argv: list[str] | None = None) -> None:
    disable_legacy_pages_folder()
    clipserve.install()
    from streamlit.web import cli

    options = list(sys.argv[1:] if argv is None else argv)
    sys.argv = ["streamlit", "run", str(REPO_ROOT / "app.py"), *options]
    cli.main()


if __name__ == "__main__":
    main()
