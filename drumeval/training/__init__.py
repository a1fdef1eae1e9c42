"""Training, fidelity-driven selection and shipping of the model ports in `drumeval.models`.

`loop` is the model-agnostic compiled training loop; `families` builds a family's preset
model; `recipes` trains one on a corpus; `fidelity` samples a model and compares its groove
with the corpus; `shipping` copies a selected checkpoint into `checkpoints/` and converts
Magenta checkpoints.
"""
