"""`drumeval study …`: one sub-app that the study modules add their commands to.

Analysis (`plan`) lives in `study_analysis_commands`; each module has a
`register(study_app)`, called from `register` below so the sub-app is added to the root
app once.
"""

import typer

study_app = typer.Typer(
    name="study",
    help="Listening studies: plan their size, run them, analyse the ratings.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add every study command to `study_app` and the sub-app to the root app."""
    from drumeval.cli import (
        study_admin_commands,
        study_analysis_commands,
        study_results_commands,
        study_trial_commands,
    )

    study_analysis_commands.register(study_app)
    study_admin_commands.register(study_app)
    study_results_commands.register(study_app)
    study_trial_commands.register(study_app)
    app.add_typer(study_app, name="study")
