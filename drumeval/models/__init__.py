"""Keras 3 ports of Magenta's DrumsRNN and MusicVAE, run on the JAX backend.

Importing this package selects the JAX backend unless the user chose another one, so
that Keras never pulls TensorFlow in (TensorFlow is only used to read Magenta files).
"""

import os

from drumeval.paths import jax_cache_dir

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorBoard may pull TensorFlow in
# Compiled XLA programs persist across processes: the app and CLI start warm after first use.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(jax_cache_dir()))
