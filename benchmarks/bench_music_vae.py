"""MusicVAE speed: training steps/s per preset, sampling and interpolation wall time, vs targets.

Run: `KERAS_BACKEND=jax .venv/bin/python benchmarks/bench_music_vae.py [--quick] [--seconds S]`.
Reference figures (real Magenta 2.1.4, TF 2.9 CPU, oneDNN, this 2-core machine type, see
`shared/anchors/magenta.md`): `cat-drums_2bar_small` training 0.80 global_step/s at batch 512,
5.31 at batch 32, 26.6 at batch 32 with the reduced fixture sizes (enc [128], dec [128,128],
z 64); `music_vae_generate` 4.23 s for 1 sample, 4.43 s for 10 (mostly TF start-up).
Targets: training ≥ 2× Magenta at the same hparams; one 60-bar track < 0.5 s.
Every figure is printed next to its target, misses included. Each training step is the same
compiled step as `drumeval.training.loop.train` (grad + Magenta-clipped Adam).
"""

import argparse
import dataclasses
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import numpy as np
from _report import report

from drumeval.models import music_vae as mv

FIXTURE_SIZES = {"enc_rnn_size": (128,), "dec_rnn_size": (128, 128), "z_size": 64}
# (label, preset, overrides, batch, Magenta steps/s or None)
TRAINING_CASES = [
    ("cat-drums_2bar_small, batch 512", "cat-drums_2bar_small", {}, 512, 0.80),
    ("cat-drums_2bar_small, batch 32", "cat-drums_2bar_small", {}, 32, 5.31),
    ("fixture sizes, batch 32", "cat-drums_2bar_small", FIXTURE_SIZES, 32, 26.6),
    ("thesis-longbar, batch 1 (960 steps)", "thesis-longbar", {}, 1, None),
    ("hier-60bar, batch 4 (960 steps)", "hier-60bar", {}, 4, None),
]
MAGENTA_GENERATE_ONE_S = 4.23


def _drum_tracks(count: int, steps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids = np.zeros((count, steps), np.int32)
    ids[:, ::4] |= 1
    ids[:, ::2] |= 4
    ids |= (rng.random((count, steps)) < 0.2).astype(np.int32) * 2
    return ids


def bench_training(config: mv.MusicVaeConfig, batch_size: int, seconds: float):
    """(steps/s, CPU seconds per step, compile seconds) of the compiled train step.

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

    ids = _drum_tracks(batch_size, config.max_seq_len)
    lengths = np.full(batch_size, config.max_seq_len)
    batch = mv.eval_batches(ids, lengths, batch_size=batch_size)[0]
    trainable = [v.value for v in model.trainable_variables]
    opt_state = [v.value for v in optimizer.variables]
    started = time.perf_counter()
    trainable, opt_state, loss = train_step(
        trainable, opt_state, batch, jax.random.PRNGKey(0), np.int32(0)
    )
    loss.block_until_ready()
    compile_s = time.perf_counter() - started
    steps, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while steps < 2 or time.perf_counter() - started < seconds:
        trainable, opt_state, loss = train_step(
            trainable, opt_state, batch, jax.random.PRNGKey(steps), np.int32(steps)
        )
        loss.block_until_ready()
        steps += 1
    cpu_per_step = (time.process_time() - cpu_started) / steps
    return steps / (time.perf_counter() - started), cpu_per_step, compile_s


def _timed(function, repeats: int) -> tuple[float, float]:
    """(first call incl. compile, best of `repeats` warm calls) in seconds."""
    started = time.perf_counter()
    function(0)
    cold = time.perf_counter() - started
    warm = []
    for seed in range(1, repeats + 1):
        started = time.perf_counter()
        function(seed)
        warm.append(time.perf_counter() - started)
    return cold, min(warm)


def bench_generation(repeats: int) -> list[tuple[str, float, float, str]]:
    """(what, cold s, warm s, target) rows for 60-bar sampling and interpolation."""
    models = {name: mv.build_model(name) for name in mv.PRESETS}
    short = models["cat-drums_2bar_small"]
    rows = []
    for count in (1, 16):
        target = "< 0.5 s" if count == 1 else "—"
        for name in ("thesis-longbar", "hier-60bar"):
            model = models[name]
            cold, warm = _timed(
                lambda seed, m=model, n=count: mv.sample(
                    m, num_samples=n, num_steps=960, seed=seed
                ),
                repeats,
            )
            rows.append((f"sample {count} × 60 bars, {name}", cold, warm, target))
        cold, warm = _timed(
            lambda seed, n=count: [mv.latent_walk(short, bars=60, seed=seed + i) for i in range(n)],
            repeats,
        )
        rows.append((f"latent_walk {count} × 60 bars, 2-bar model", cold, warm, target))
    a, b = _drum_tracks(2, 32)
    cold, warm = _timed(
        lambda seed: mv.interpolate(short, a, b, num_interpolations=8, seed=seed), repeats
    )
    rows.append(("interpolate 8 × 2 bars, cat-drums_2bar_small", cold, warm, "—"))
    long_a, long_b = _drum_tracks(2, 960)
    cold, warm = _timed(
        lambda seed: mv.interpolate(
            models["thesis-longbar"], long_a, long_b, num_interpolations=8, seed=seed
        ),
        repeats,
    )
    rows.append(("interpolate 8 × 60 bars, thesis-longbar", cold, warm, "—"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timing window per case")
    parser.add_argument("--quick", action="store_true", help="skip batch 512, 2 s windows")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else args.seconds
    load = os.getloadavg()[0]
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs, "
        f"1-min load average {load:.1f} (Magenta's figures were taken on an idle machine)\n"
    )
    print(
        f"{'training case':38} {'steps/s':>7} {'CPU s/step':>10} {'compile s':>9} "
        f"{'Magenta':>7} {'target':>7}  met"
    )
    for label, preset, overrides, batch_size, magenta in TRAINING_CASES:
        if args.quick and batch_size == 512:
            continue
        config = dataclasses.replace(mv.PRESETS[preset], **overrides, batch_size=batch_size)
        rate, cpu_per_step, compile_s = bench_training(config, batch_size, seconds)
        target = f"{2 * magenta:.2f}" if magenta else "—"
        met = "—" if magenta is None else ("yes" if rate >= 2 * magenta else "MISS")
        magenta_text = f"{magenta:.2f}" if magenta else "—"
        print(
            f"{label:38} {rate:7.2f} {cpu_per_step:10.3f} {compile_s:9.1f} "
            f"{magenta_text:>7} {target:>7}  {met}"
        )
        if magenta:
            report(f"train {label}", rate, f"≥ {target}", "steps/s", rate >= 2 * magenta)
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
