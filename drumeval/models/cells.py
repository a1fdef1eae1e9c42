"""The LSTM cell both Magenta models use, as a serializable Keras 3 layer.

TF1's `BasicLSTMCell` (DrumsRNN) and `LSTMBlockCell` (MusicVAE) share one layout:
kernel rows are `[input, h_prev]`, gate columns are ordered **i, j, f, o**, and
`forget_bias` (1.0) is added to f inside the cell rather than stored in the bias.
Keeping that layout lets Magenta checkpoints load without any re-ordering.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="drumeval")
class MagentaLSTMCell(keras.layers.Layer):
    """One LSTM step: `c' = σ(f + forget_bias)·c + σ(i)·tanh(j)`, `h' = tanh(c')·σ(o)`."""

    def __init__(self, units: int, input_size: int, forget_bias: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.input_size = input_size
        self.forget_bias = forget_bias
        self.kernel = self.add_weight(
            name="kernel", shape=(input_size + units, 4 * units), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(4 * units,), initializer="zeros")
        self.built = True

    def gates_from_input(self, inputs):
        """The input half of the gate pre-activations, `x @ W_x + b`.

        Computing this for a whole sequence at once (teacher forcing) moves most of the
        FLOPs out of the sequential loop.
        """
        return ops.matmul(inputs, self.kernel[: self.input_size]) + self.bias

    def step_from_gates(self, input_gates, state):
        """Finish one step given `x @ W_x + b`; `state` is `(c, h)`; returns `(h, (c, h))`."""
        c, h = state
        z = input_gates + ops.matmul(h, self.kernel[self.input_size :])
        i, j, f, o = ops.split(z, 4, axis=-1)
        new_c = ops.sigmoid(f + self.forget_bias) * c + ops.sigmoid(i) * ops.tanh(j)
        new_h = ops.tanh(new_c) * ops.sigmoid(o)
        return new_h, (new_c, new_h)

    def step(self, inputs, state):
        """One full step from raw inputs; `state` is `(c, h)`; returns `(h, (c, h))`."""
        return self.step_from_gates(self.gates_from_input(inputs), state)

    def zero_state(self, batch_size: int):
        zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
        return zeros, zeros

    def call(self, inputs, state):
        return self.step(inputs, state)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "input_size": self.input_size,
            "forget_bias": self.forget_bias,
        }
