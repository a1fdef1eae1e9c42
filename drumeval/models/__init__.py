"""Keras 3 ports of Magenta's DrumsRNN and MusicVAE, run on the JAX backend.

Importing this package selects the JAX backend unless the user chose another one, so
that Keras never pulls TensorFlow in (TensorFlow is only used to read Magenta files).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorBoard may pull TensorFlow in
