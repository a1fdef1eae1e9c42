"""Reconcile a study with Prolific's export: who was paid for data we do not have, and whose
data has no Prolific submission.

reVISit (2026) found ≈ 5 % of Prolific "completed" participants with partial or lost data
(network drops, reloads). Prolific's *Download summary* CSV has one row per submission with
`Participant id` and `Status`; the database labels each participant with the
`PROLIFIC_PID` of their invite link (a label, never authentication).
"""

import csv
import io
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from db import repository
from db.engine import transaction
from drumeval.errors import StudyError

PID_COLUMN = "Participant id"
STATUS_COLUMN = "Status"
# Submissions Prolific expects data for (returned, timed-out and active ones it does not).
SUBMITTED = frozenset({"APPROVED", "AWAITING REVIEW", "REJECTED"})
MAX_EXPORT_BYTES = 20_000_000


@dataclass(frozen=True)
class Mismatch:
    prolific_pid: str | None
    why: str


@dataclass(frozen=True)
class Reconciliation:
    submissions_without_data: tuple[Mismatch, ...]  # on Prolific, incomplete or absent here
    participants_without_submission: tuple[Mismatch, ...]  # here, not submitted on Prolific
    submissions: int
    participants: int

    @property
    def clean(self) -> bool:
        return not (self.submissions_without_data or self.participants_without_submission)


def read_prolific_export(data: bytes) -> dict[str, str]:
    """Participant id → submission status, from Prolific's CSV (StudyError if it is not one)."""
    if len(data) > MAX_EXPORT_BYTES:
        raise StudyError(f"the Prolific export is larger than {MAX_EXPORT_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StudyError("the Prolific export is not UTF-8 text (a CSV file)") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in (PID_COLUMN, STATUS_COLUMN) if c not in (reader.fieldnames or [])]
    if missing:
        raise StudyError(
            f"the Prolific export has no {' or '.join(repr(c) for c in missing)} column; "
            "use Prolific's 'Download summary' CSV"
        )
    return {
        row[PID_COLUMN].strip(): (row[STATUS_COLUMN] or "").strip().upper()
        for row in reader
        if (row.get(PID_COLUMN) or "").strip()
    }


def reconcile(engine: Engine, slug: str, submissions: dict[str, str]) -> Reconciliation:
    """Compare Prolific's submissions with the study's participants."""
    with transaction(engine) as session:
        study = repository.get_study(session, slug=slug)
        if study is None:
            raise StudyError(f"no study called {slug!r}; `drumeval study list` shows them")
        people = repository.participants_with_progress(session, study_id=study.id)
    by_pid: dict[str, list] = {}
    unlabelled = []
    for person in people:
        pid = person.external_ids.get("PROLIFIC_PID")
        if pid:
            by_pid.setdefault(pid, []).append(person)
        else:
            unlabelled.append(person)
    without_data = []
    for pid, status in sorted(submissions.items()):
        if status not in SUBMITTED:
            continue
        mine = by_pid.get(pid, [])
        if not mine:
            without_data.append(Mismatch(pid, f"{status} on Prolific; no participant here"))
        elif not any(p.status == "finished" and p.rated == p.assigned for p in mine):
            best = max(mine, key=lambda p: p.rated)
            without_data.append(
                Mismatch(
                    pid,
                    f"{status} on Prolific; here {best.status}, "
                    f"{best.rated} of {best.assigned} clips rated",
                )
            )
    without_submission = [
        Mismatch(pid, f"{person.status} here; {_on_prolific(submissions.get(pid))}")
        for pid, mine in sorted(by_pid.items())
        for person in mine
        if submissions.get(pid) not in SUBMITTED and person.rated > 0
    ]
    without_submission += [
        Mismatch(None, f"{person.status} here, {person.rated} clips rated; no PROLIFIC_PID")
        for person in unlabelled
        if person.rated > 0
    ]
    return Reconciliation(
        tuple(without_data), tuple(without_submission), len(submissions), len(people)
    )


def _on_prolific(status: str | None) -> str:
    return "no submission on Prolific" if status is None else f"{status} on Prolific"
