"""MusicVAE speed: training steps/s per preset, sampling and interpolation wall time, vs targets.

Run: `KERAS_BACKEND=jax .venv/bin/python benchmarks/bench_music_vae.py [--quick] [--steps-scale F]`.
Each training case runs a fixed number of steps of the compiled train step (the same step as
`drumeval.training.loop.train`: grad + Magenta-clipped Adam, scheduled sampling from step 0)
and is printed beside real Magenta 2.1.4 on this 2-core machine type (TF 2.9 CPU, oneDNN;
`shared/anchors/magenta.md`): `cat-drums_2bar_small` 0.80 global_step/s at batch 512, 5.31 at
batch 32, 26.6 at batch 32 with the reduced fixture sizes (enc [128], dec [128,128], z 64);
the thesis' flat 60-bar model (`thesis-longbar`, 960 steps) 0.80 at batch 1 and 0.66 at
batch 8 (means of two runs each); `music_vae_generate` 4.23 s for 1 sample, 4.43 s for 10
(mostly TF start-up). Targets: training ≥ 2× Magenta at the same hparams; one 60-bar track
< 0.5 s. Every figure is printed next to its target, misses included.
"""

import argparse
import dataclasses
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import numpy as np
from _report import report
from _timing import cold_and_warm

from drumeval.models import music_vae as mv
from drumeval.training.loop import keep_freed_memory

FIXTURE_SIZES = {"enc_rnn_size": (128,), "dec_rnn_size": (128, 128), "z_size": 64}


@dataclasses.dataclass(frozen=True)
class TrainingCase:
    label: str
    preset: str
    batch_size: int
    steps: int  # timed steps after the compiling one
    magenta_steps_per_s: float | None = None
    overrides: tuple[tuple[str, object], ...] = ()


TRAINING_CASES = [
    TrainingCase("cat-drums_2bar_small, batch 512", "cat-drums_2bar_small", 512, 10, 0.80),
    TrainingCase("cat-drums_2bar_small, batch 32", "cat-drums_2bar_small", 32, 60, 5.31),
    TrainingCase(
        "fixture sizes, batch 32",
        "cat-drums_2bar_small",
        32,
        200,
        26.6,
        tuple(FIXTURE_SIZES.items()),
    ),
    TrainingCase("thesis-longbar, batch 1 (60 bars)", "thesis-longbar", 1, 60, 0.80),
    TrainingCase("thesis-longbar, batch 8 (60 bars)", "thesis-longbar", 8, 20, 0.66),
    TrainingCase("hier-60bar, batch 4 (60 bars)", "hier-60bar", 4, 20),
]
MAGENTA_GENERATE_ONE_S = 4.23


def _drum_tracks(count: int, steps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids = np.zeros((count, steps), np.int32)
    ids[:, ::4] |= 1
    ids[:, ::2] |= 4
    ids |= (rng.random((count, steps)) < 0.2).astype(np.int32) * 2
    return ids


def bench_training(config: mv.MusicVaeConfig, steps: int):
    """(steps/s, CPU seconds per step, compile seconds) over `steps` compiled train steps.

    CPU seconds per step (all threads of this process) stay meaningful when other jobs
    share the cores: on an idle 2-core machine steps/s would be about 2 / that at best.
    """
    model = mv.build_model(config)
    optimizer = mv.make_optimizer(config)
    optimizer.build(model.trainable_variables)
    loss_fn = mv.make_loss_fn(model)

    @jax.jit
    def train_step(trainable, opt_state, batch, key, step):
        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            trainable, [], batch, key, step, True
        )
        trainable, opt_state = optimizer.stateless_apply(opt_state, grads, trainable)
        return trainable, opt_state, loss

    ids = _drum_tracks(config.batch_size, config.max_seq_len)
    lengths = np.full(config.batch_size, config.max_seq_len)
    batch = mv.eval_batches(ids, lengths, batch_size=config.batch_size)[0]
    trainable = [v.value for v in model.trainable_variables]
    opt_state = [v.value for v in optimizer.variables]
    started = time.perf_counter()
    trainable, opt_state, loss = train_step(
        trainable, opt_state, batch, jax.random.PRNGKey(0), np.int32(0)
    )
    loss.block_until_ready()
    compile_s = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    for step in range(1, steps + 1):
        trainable, opt_state, loss = train_step(
            trainable, opt_state, batch, jax.random.PRNGKey(step), np.int32(step)
        )
    loss.block_until_ready()
    cpu_per_step = (time.process_time() - cpu_started) / steps
    return steps / (time.perf_counter() - started), cpu_per_step, compile_s


def bench_generation(repeats: int) -> list[tuple[str, float, float, str]]:
    """(what, cold s, warm s, target) rows for 60-bar sampling and interpolation."""
    models = {name: mv.build_model(name) for name in mv.PRESETS}
    short = models["cat-drums_2bar_small"]
    rows = []
    for count in (1, 16):
        target = "< 0.5 s" if count == 1 else "—"
        for name in ("thesis-longbar", "hier-60bar"):
            model = models[name]
            cold, warm = cold_and_warm(
                lambda seed, m=model, n=count: mv.sample(
                    m, num_samples=n, num_steps=960, seed=seed
                ),
                repeats,
            )
            rows.append((f"sample {count} × 60 bars, {name}", cold, warm, target))
        cold, warm = cold_and_warm(
            lambda seed, n=count: [mv.latent_walk(short, bars=60, seed=seed + i) for i in range(n)],
            repeats,
        )
        rows.append((f"latent_walk {count} × 60 bars, 2-bar model", cold, warm, target))
    a, b = _drum_tracks(2, 32)
    cold, warm = cold_and_warm(
        lambda seed: mv.interpolate(short, a, b, num_interpolations=8, seed=seed), repeats
    )
    rows.append(("interpolate 8 × 2 bars, cat-drums_2bar_small", cold, warm, "—"))
    long_a, long_b = _drum_tracks(2, 960)
    cold, warm = cold_and_warm(
        lambda seed: mv.interpolate(
            models["thesis-longbar"], long_a, long_b, num_interpolations=8, seed=seed
        ),
        repeats,
    )
    rows.append(("interpolate 8 × 60 bars, thesis-longbar", cold, warm, "—"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps-scale", type=float, default=1.0, help="multiply every case's step count"
    )
    parser.add_argument("--quick", action="store_true", help="skip batch 512, a fifth of the steps")
    args = parser.parse_args()
    keep_freed_memory()  # as `drumeval train` does, before JAX starts its threads
    scale = args.steps_scale / 5 if args.quick else args.steps_scale
    load = os.getloadavg()[0]
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs, "
        f"1-min load average {load:.1f} (Magenta's figures were taken on an idle machine)\n"
    )
    print(
        f"{'training case':38} {'steps':>5} {'steps/s':>7} {'CPU s/step':>10} {'compile s':>9} "
        f"{'Magenta':>7} {'ratio':>5} {'target':>7}  met"
    )
    for case in TRAINING_CASES:
        if args.quick and case.batch_size == 512:
            continue
        config = dataclasses.replace(
            mv.PRESETS[case.preset], **dict(case.overrides), batch_size=case.batch_size
        )
        steps = max(2, round(case.steps * scale))
        rate, cpu_per_step, compile_s = bench_training(config, steps)
        magenta = case.magenta_steps_per_s
        target = f"{2 * magenta:.2f}" if magenta else "—"
        met = "—" if magenta is None else ("yes" if rate >= 2 * magenta else "MISS")
        magenta_text = f"{magenta:.2f}" if magenta else "—"
        ratio = f"{rate / magenta:.2f}" if magenta else "—"
        print(
            f"{case.label:38} {steps:5d} {rate:7.2f} {cpu_per_step:10.3f} {compile_s:9.1f} "
            f"{magenta_text:>7} {ratio:>5} {target:>7}  {met}"
        )
        if magenta:
            report(f"train {case.label}", rate, f"≥ {target}", "steps/s", rate >= 2 * magenta)
    print(f"\n{'generation':48} {'cold s':>7} {'warm s':>7}  target")
    for what, cold, warm, target in bench_generation(repeats=1 if args.quick else 3):
        met = ""
        if target.startswith("<"):
            met = "  yes" if warm < float(target.split()[1]) else "  MISS"
            report(f"{what}, warm", warm, target.removesuffix(" s"), "s", met == "  yes")
        print(f"{what:48} {cold:7.3f} {warm:7.3f}  {target}{met}")
    print(
        f"(Magenta's music_vae_generate CLI: {MAGENTA_GENERATE_ONE_S} s for one 2-bar sample, "
        "mostly TF start-up; cold = first call including compilation)"
    )


if __name__ == "__main__":
    main()
