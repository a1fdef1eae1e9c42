"""Read Magenta's TF1 checkpoints and `.mag` generator bundles into NumPy arrays.

TensorFlow is imported here only, lazily, inside the functions: nothing else in
drumeval needs it, and `import tensorflow` costs about 2 s and 500 MB.
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumeval.errors import MagentaImportError


def read_tf_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """All variables of a TF checkpoint (a directory with a `checkpoint` file, or a prefix).

    Optimizer slots (`…/Adam`, `…/Adam_1`), `global_step` and scalar bookkeeping are dropped.
    """
    path = Path(path)
    if not path.is_dir() and not any(path.parent.glob(f"{path.name}*")):
        raise MagentaImportError(f"no Magenta checkpoint or .mag bundle at {path}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    prefix = tf.train.latest_checkpoint(str(path)) if path.is_dir() else str(path)
    if not prefix:
        raise MagentaImportError(f"no TensorFlow checkpoint found in {path}")
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as error:  # TF raises a zoo of errors for unreadable files
        raise MagentaImportError(f"cannot read checkpoint {prefix}: {error}") from error
    names = reader.get_variable_to_shape_map()
    return {
        name: np.asarray(reader.get_tensor(name))
        for name in names
        if not name.endswith(("/Adam", "/Adam_1"))
        and name not in {"global_step", "beta1_power", "beta2_power"}
    }


@dataclass(frozen=True)
class GeneratorBundle:
    """What a `.mag` file holds that we use: the generator id and its weights."""

    generator_id: str
    description: str
    variables: dict[str, np.ndarray]


def read_mag_bundle(path: str | Path) -> GeneratorBundle:
    """Parse a Magenta `.mag` GeneratorBundle and read its single-file V1 checkpoint."""
    from note_seq.protobuf import generator_pb2

    path = Path(path)
    if not path.is_file():
        raise MagentaImportError(f"bundle not found: {path}")
    bundle = generator_pb2.GeneratorBundle()
    try:
        bundle.ParseFromString(path.read_bytes())
    except Exception as error:  # protobuf's DecodeError and friends
        raise MagentaImportError(
            f"{path.name} is not a Magenta generator bundle: {error}"
        ) from error
    if not bundle.checkpoint_file:
        raise MagentaImportError(f"{path.name} holds no checkpoint")
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "model.ckpt"
        checkpoint.write_bytes(bundle.checkpoint_file[0])
        variables = read_tf_checkpoint(checkpoint)
    return GeneratorBundle(
        generator_id=bundle.generator_details.id,
        description=bundle.generator_details.description,
        variables=variables,
    )
