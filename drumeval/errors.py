"""One exception hierarchy for the whole library.

The CLI and the app catch `DrumevalError` and show its message in one line; anything
else is a bug and is allowed to surface as a traceback in tests.
"""


class DrumevalError(Exception):
    """Base class of every error a user can cause and fix."""


class InvalidMidiError(DrumevalError):
    """The file is not a MIDI file we can read safely (corrupt, truncated, too large…)."""


class NoDrumsError(DrumevalError):
    """The MIDI file parses but contains no drum notes."""


class UnsupportedMeterError(DrumevalError):
    """The file is not in 4/4, or changes meter."""


class FileTooLargeError(InvalidMidiError):
    """The file exceeds a safety limit (bytes, notes, or length)."""


class DatasetError(DrumevalError):
    """A corpus is missing, incomplete, or its manifest does not match its arrays."""


class ModelError(DrumevalError):
    """A model, checkpoint, or hyper-parameter is invalid or missing."""


class ParameterError(ModelError):
    """A parameter of a library call is out of range or conflicts with what is on disk. The
    message names the parameter ("temperature must be in (0, 10], got 12", "resume must be
    on: …"); the CLI names its flag instead (`cli.terminal.parameters_as_flags`)."""

    def __init__(self, parameter: str, requirement: str) -> None:
        super().__init__(f"{parameter} {requirement}")
        self.parameter = parameter
        self.requirement = requirement


class CheckpointNotFoundError(ModelError):
    """No shipped or given checkpoint matches the request."""


class MagentaImportError(ModelError):
    """A Magenta checkpoint or .mag bundle cannot be mapped onto our layers."""


class AudioError(DrumevalError):
    """Rendering, loudness normalisation or encoding failed."""


class MissingDependencyError(DrumevalError):
    """A system program or file (FluidSynth, the sound font) is not installed."""


class ClipStoreError(DrumevalError):
    """A clip's stored MIDI or audio is missing, corrupt or cannot be written."""


class DatabaseError(DrumevalError):
    """The database is unreachable, locked for too long, or its schema does not match the code."""


class SchemaTooNewError(DatabaseError):
    """The database was migrated by a newer drumeval than this one: refuse to run."""


class StudyError(DrumevalError):
    """A study request is invalid: unknown or closed study, forged token, wrong rating…"""


class StudyNotFoundError(StudyError):
    """No study has this slug."""


class StudyClosedError(StudyError):
    """The study exists but does not accept participants (draft or closed)."""


class StudyDesignError(StudyError):
    """A participant's pages cannot be built from the study's design: the researcher's to fix
    (logged for them); an evaluator sees a neutral message, never the design's details."""


class InvalidTokenError(StudyError):
    """A resume token matches no participant of this study."""


class RatingError(StudyError):
    """A rating is out of range, incomplete, or for a clip not assigned to this participant."""


class RateLimitError(RatingError):
    """Too many votes from one browser session in too short a time (the public arena)."""

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class AnalysisError(DrumevalError):
    """Ratings, answers or a study plan cannot be analysed: missing columns, bad values, no data."""
