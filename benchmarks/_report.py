"""One parseable line per benchmark figure, which `run_all.py` gathers into RESULTS.md.

Format: `BENCH<TAB>name<TAB>measured<TAB>target<TAB>unit<TAB>met|missed`, printed next to
each script's own readable output so a figure is never reported without its target.
"""

PREFIX = "BENCH"


def report(name: str, measured: float, target: str, unit: str, met: bool) -> None:
    """Print one figure: `target` is text with its comparison (`< 10`, `≥ 200`)."""
    fields = (PREFIX, name, f"{measured:.4g}", target, unit, "met" if met else "missed")
    print("\t".join(field.replace("\t", " ") for field in fields), flush=True)


def parse(line: str) -> dict[str, str] | None:
    """The fields of a `report` line, or None for any other line."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 6 or fields[0] != PREFIX:
        return None
    return dict(zip(("name", "measured", "target", "unit", "met"), fields[1:], strict=True))
