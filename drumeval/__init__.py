"""drumeval: generate evolving 2-minute drum tracks with DrumsRNN and MusicVAE and evaluate them.

Nothing heavy is imported here: the CLI and the app import the sub-packages they need.
"""

__version__ = "0.1.0"
