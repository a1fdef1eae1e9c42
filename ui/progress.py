"""The Streamlit side of `drumeval.progress`: a page's `st.progress` bar as a progress callback."""

from drumeval.progress import ProgressCallback


def streamlit_progress(bar, *, counts: bool = True) -> ProgressCallback:
    """`(label, done, total)` reports drawn on `bar` (an `st.progress`); `counts=False` shows
    the label alone (a clip's stages are percent, not items)."""

    def report(label: str, done: int, total: int) -> None:
        fraction = min(max(done / total, 0.0), 1.0) if total else 1.0
        bar.progress(fraction, text=f"{label} ({done}/{total})" if counts else label)

    return report
