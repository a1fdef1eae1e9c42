"""Magenta's files into our ports: TF checkpoints and `.mag` bundles (`tf_files`), then one
weight map per family (`drums_rnn.import_magenta`, `music_vae.import_magenta`).

The ports in `drumeval.models` know nothing of Magenta's variable names; this package does.
"""
