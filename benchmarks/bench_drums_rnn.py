"""DrumsRNN speed: training steps/s at thesis hparams and sampling wall time, vs targets.

Run: `KERAS_BACKEND=jax .venv/bin/python benchmarks/bench_drums_rnn.py [--quick]`.
Reference figures (real Magenta 2.1.4, TF 2.9 CPU, batch 1, attention 64, GMD tracks
≤ 640 steps): 4.54 / 3.55 / 2.01 global_step/s for [64,64] / [128,128] / [256,256] on this
2-core machine type (thesis machine: 18.41 / 11.92 / 3.175); `drums_rnn_generate` CLI:
4.07 s for one 960-step track, 10.93 s for 10. Targets: training ≥ 2× Magenta here;
one sample < 0.5 s, 16 samples < 2 s, and ≥ 20× faster than Magenta's CLI.
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import keras
import numpy as np
from _report import report
from _timing import cold_and_warm

from drumeval.models import drums_rnn as dr
from drumeval.models import drums_rnn_sampling as ds

MAGENTA_STEPS_PER_S = {(64, 64): 4.54, (128, 128): 3.55, (256, 256): 2.01}
THESIS_MACHINE_STEPS_PER_S = {(64, 64): 18.41, (128, 128): 11.92, (256, 256): 3.175}
MAGENTA_CLI_ONE_S, MAGENTA_CLI_TEN_S = 4.07, 10.93


def _train_step_fn(model):
    """The same compiled step as `drumeval.training.loop.train` (grad + clipped Adam)."""
    optimizer = dr.make_optimizer(model.config)
    optimizer.build(model.trainable_variables)
    loss_fn = dr.make_loss_fn(model)
    non_trainable = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def train_step(trainable, opt_state, batch, key):
        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            trainable, non_trainable, batch, key, 0, True
        )
        trainable, opt_state = optimizer.stateless_apply(opt_state, grads, trainable)
        return trainable, opt_state, loss

    state = ([v.value for v in model.trainable_variables], [v.value for v in optimizer.variables])
    return train_step, state


def bench_training(sizes, num_steps: int, seconds: float) -> tuple[float, float]:
    """(steps/s, compile seconds) for batch 1, attention 64, one `num_steps`-step track."""
    keras.utils.set_random_seed(0)
    config = dr.PRESETS["thesis"]
    model = dr.DrumsRNN(config.__class__(**{**config.to_dict(), "rnn_layer_sizes": sizes}))
    ids = np.random.default_rng(0).integers(0, 512, (1, num_steps + 1)).astype(np.int32)
    batch = dr.eval_batches(ids, np.array([num_steps + 1]), batch_size=1)[0]
    train_step, (trainable, opt_state) = _train_step_fn(model)
    started = time.perf_counter()
    trainable, opt_state, loss = train_step(trainable, opt_state, batch, jax.random.PRNGKey(0))
    loss.block_until_ready()
    compile_s = time.perf_counter() - started
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        key = jax.random.PRNGKey(steps)
        trainable, opt_state, loss = train_step(trainable, opt_state, batch, key)
        steps += 1
    loss.block_until_ready()
    return steps / (time.perf_counter() - started), compile_s


def bench_sampling(num_samples: int, repeats: int) -> tuple[float, float]:
    """(first call incl. compile, best warm call) seconds for 960-step thesis samples."""
    keras.utils.set_random_seed(0)
    model = dr.DrumsRNN(dr.PRESETS["thesis"])
    return cold_and_warm(
        lambda seed: ds.sample(model, num_samples=num_samples, num_steps=960, seed=seed), repeats
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="[64,64] only, 3 s per figure")
    parser.add_argument("--seconds", type=float, default=6.0, help="timing window per figure")
    parser.add_argument(
        "--lengths",
        default="960,640,256",
        help="training sequence lengths (640 = Magenta's longest timing track, the fair match)",
    )
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    all_sizes = [(64, 64)] if args.quick else list(MAGENTA_STEPS_PER_S)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPU(s)")
    print(f"load average at start: {load} (other work on the machine slows every figure)")
    print("\nTraining, batch 1, attn_length 64, dropout 0.5, clipped Adam (global_step/s)")
    print(f"{'layers':<11}{'steps':>6}{'measured':>10}{'target':>8}{'Magenta':>9}{'compile':>9}")
    for sizes in all_sizes:
        target = 2 * MAGENTA_STEPS_PER_S[sizes]
        for num_steps in (int(length) for length in args.lengths.split(",")):
            rate, compile_s = bench_training(sizes, num_steps, seconds)
            verdict = "ok" if rate >= target else "MISS"
            print(
                f"{sizes!s:<11}{num_steps:>6}{rate:>10.2f}{target:>8.2f}"
                f"{MAGENTA_STEPS_PER_S[sizes]:>9.2f}{compile_s:>8.1f}s  {verdict}"
            )
            report(f"train {sizes}, {num_steps} steps", rate, f"≥ {target:.2f}", "steps/s",
                   rate >= target)  # fmt: skip
    print(
        "(Magenta trained on GMD tracks of 112–640 steps, so compare with the 640 row; "
        "thesis machine: " + ", ".join(f"{v}" for v in THESIS_MACHINE_STEPS_PER_S.values()) + ")"
    )
    print("\nSampling 960 steps, thesis model [64,64] attn 64 (seconds)")
    header = f"{'samples':<9}{'warm':>8}{'cold':>8}{'target':>8}{'Magenta CLI':>13}"
    print(header + f"{'× (warm)':>10}{'× (cold)':>10}")
    for num_samples, target, magenta in ((1, 0.5, MAGENTA_CLI_ONE_S), (16, 2.0, None)):
        cold, warm = bench_sampling(num_samples, repeats=3)
        magenta = magenta or MAGENTA_CLI_TEN_S * 16 / 10
        verdict = "ok" if warm < target and magenta / warm >= 20 else "MISS"
        print(
            f"{num_samples:<9}{warm:>8.3f}{cold:>8.2f}{target:>8.2f}{magenta:>13.2f}"
            f"{magenta / warm:>10.0f}{magenta / cold:>10.1f}  {verdict}"
        )
        report(f"sample {num_samples} × 960 steps, warm", warm, f"< {target:g}", "s",
               warm < target)  # fmt: skip
    print(
        "(warm = compiled program cached in the process; cold = first call, with the XLA compile;"
        " Magenta's CLI times include TF start-up; its 16 is scaled from 10.93 s for 10)"
    )


if __name__ == "__main__":
    main()
