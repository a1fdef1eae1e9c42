"""Every study the tests build in code, importable from one place: `from tests.factories import …`.

database   studies of clips with made-up digests (no audio), participants, ratings
pool       a clip pool named as `drumeval.study.pool` names it, and a study config over it
arena      the open arena over every contestant, click tracks as excerpts
trials     pairwise and MUSHRA studies, and simulated voters with a known preference
simulated  a simulated study (`drumeval.analysis.simulate`) written through the repository

The study "tiny" that the deployment and benchmarks also use is the library's
`drumeval.study.synthetic.make_study`.
"""

from tests.factories.arena import PER_GENRE, SECONDS, make_arena
from tests.factories.database import GOOD_SCORES, digest, join, make_study, rate
from tests.factories.pool import ANCHOR, CONFIG, GENERATED, GOLD, PRACTICE, REFERENCE, add_pool
from tests.factories.simulated import (
    SeededStudy,
    drive_flow,
    renamed,
    screen_listeners,
    write_simulated_study,
)
from tests.factories.trials import (
    STRENGTHS,
    TRIAL_CORPUS,
    TRIAL_MODELS,
    join_trials,
    make_trial_study,
    simulate_scores,
    simulate_votes,
    trial_conditions,
)

__all__ = [
    "ANCHOR",
    "CONFIG",
    "GENERATED",
    "GOLD",
    "GOOD_SCORES",
    "PER_GENRE",
    "PRACTICE",
    "REFERENCE",
    "SECONDS",
    "STRENGTHS",
    "TRIAL_CORPUS",
    "TRIAL_MODELS",
    "SeededStudy",
    "add_pool",
    "digest",
    "drive_flow",
    "join",
    "join_trials",
    "make_arena",
    "make_study",
    "make_trial_study",
    "rate",
    "renamed",
    "screen_listeners",
    "simulate_scores",
    "simulate_votes",
    "trial_conditions",
    "write_simulated_study",
]
