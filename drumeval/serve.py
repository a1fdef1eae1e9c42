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


def usage() -> str:
    """This command's own help: Streamlit's `run --help` would describe a command the user
    did not type (`python -m drumeval.streamlit run`)."""
    from db.engine import URL_ENV
    from drumeval.paths import HOME_ENV
    from drumeval.study.admin_auth import PASSWORD_ENV

    return (
        "Usage: python -m drumeval.serve [STREAMLIT OPTIONS]\n\n"
        "Serve drumeval's web app (app.py, with the /clips audio route), as `make run` does.\n\n"
        "Options are Streamlit's server options, passed on as given, e.g.\n"
        "  --server.port 8501        the port (make run: PORT=8501)\n"
        "  --server.address 0.0.0.0  listen on every interface\n"
        "  --server.headless true    do not open a browser\n"
        "`streamlit run --help` lists them all.\n\n"
        "Environment:\n"
        f"  {HOME_ENV}   data folder: database, clip store, caches\n"
        f"  {URL_ENV}    a PostgreSQL URL instead of the SQLite file under {HOME_ENV}\n"
        f"  {PASSWORD_ENV}  the /admin password\n"
    )


def main(argv: list[str] | None = None) -> None:
    options = list(sys.argv[1:] if argv is None else argv)
    if {"-h", "--help"} & set(options):
        print(usage(), end="")
        return
    disable_legacy_pages_folder()
    clipserve.install()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(REPO_ROOT / "app.py"), *options]
    cli.main()


if __name__ == "__main__":
    main()
