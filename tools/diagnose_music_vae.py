"""Why does a MusicVAE play loosely? Decoder, latent and prior, measured apart (issue 29).

Usage: `KERAS_BACKEND=jax .venv/bin/python tools/diagnose_music_vae.py CHECKPOINT [...]
[--examples 24] [--samples 8] [--seed 0]` where CHECKPOINT is a shipped name
(`music_vae/thesis-longbar/jazz-soul-700`) or a checkpoint directory.

For each split (train, eval) of the checkpoint's corpus, on `--examples` seeded examples:
- teacher-forced nats per step and accuracy with z = posterior mean, beside the accuracy of
  copying the bar before (`bar_repeat_share`): a decoder that holds a groove beats it on
  held-out examples; one far above it on train and below it on eval has memorised;
- KL in bits, latent dimensions in use (mean KL > 0.05 nats) and E[μ² + σ²] (1 when the
  posteriors fill the prior);
- bar similarity of the originals and of their reconstructions (posterior mean, T = 1).
Then bar similarity and kick on all four of `--samples` prior samples at T = 1.0 and 0.5 (at
T = 1.0 also per 10-bar window: a decoder that starts loose and settles shows it here): if
reconstructions keep the groove and prior samples do not, the prior is the problem; if both
lose it (and lowering the temperature does not bring it back), the decoder is.
"""

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np


def _mean(values) -> float:
    return float(np.nanmean(np.asarray(list(values), dtype=float)))


def diagnose(name: str, *, examples: int, samples: int, seed: int) -> list[str]:
    import jax

    from drumeval.data.corpus import load_corpus
    from drumeval.metrics.groove import bar_repeat_share, bar_similarity, kick_four_on_floor_share
    from drumeval.models import music_vae
    from drumeval.training.families import resolve_checkpoint
    from drumeval.training.fidelity import trained_checkpoint

    network, card = trained_checkpoint(resolve_checkpoint(name))
    config, weights = network.config, network.weight_tree()
    data = load_corpus(card["corpus"])
    loss = jax.jit(
        lambda w, batch: music_vae.compute_loss(
            w, config, batch, jax.random.PRNGKey(seed), 0, False
        )
    )
    training = card["training"]
    steps = training.get("total_steps", training["steps"])
    lines = [f"{name} ({card['corpus']}, {steps} steps)"]
    for split in ("train", "eval"):
        ids, lengths = music_vae.prepare_examples(*data.split(split), config.max_seq_len)
        pick = np.random.default_rng(seed).choice(len(ids), min(examples, len(ids)), replace=False)
        ids, lengths = ids[pick], lengths[pick]
        batch = {"event_ids": ids, "lengths": lengths, "weights": np.ones(len(ids), np.float32)}
        _, metrics = loss(weights, batch)
        mu, sigma = music_vae.encode(network, ids, lengths)
        kl_per_dim = (0.5 * (mu**2 + sigma**2 - 1) - np.log(sigma)).mean(axis=0)
        tracks = [row[:length] for row, length in zip(ids, lengths, strict=True)]
        rebuilt = music_vae.decode(network, mu, temperature=1.0, seed=seed)
        lines += [
            f"  {split:5} n={len(ids)}: {float(metrics['r_loss']) / lengths.mean():.2f} nats/step, "
            f"accuracy {float(metrics['accuracy']):.3f} (copying the bar before: "
            f"{_mean(bar_repeat_share(t) for t in tracks):.3f})",
            f"        KL {float(metrics['kl_bits']):.1f} bits, {int((kl_per_dim > 0.05).sum())}/"
            f"{config.z_size} dims in use, E[mu²+sigma²] {float(np.mean(mu**2 + sigma**2)):.2f}",
            f"        bar similarity: originals {_mean(bar_similarity(t) for t in tracks):.2f}, "
            f"reconstructions {_mean(bar_similarity(t) for t in rebuilt):.2f}",
        ]
    for temperature in (1.0, 0.5):
        prior = music_vae.sample(
            network, num_samples=samples, num_steps=960, temperature=temperature, seed=seed
        )
        lines.append(
            f"  prior T={temperature}: "
            f"bar similarity {_mean(bar_similarity(t) for t in prior):.2f}, "
            f"kick on all 4 {_mean(kick_four_on_floor_share(t) for t in prior):.2f}"
        )
        if temperature == 1.0:
            windows = [
                _mean(bar_similarity(t[start * 16 : (start + 10) * 16]) for t in prior)
                for start in range(0, 60, 10)
            ]
            lines.append(
                "    along the track (10-bar windows): " + " ".join(f"{w:.2f}" for w in windows)
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--examples", type=int, default=24)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from drumeval.errors import DrumevalError

    for name in args.checkpoints:
        try:
            print(
                "\n".join(
                    diagnose(name, examples=args.examples, samples=args.samples, seed=args.seed)
                )
            )
        except DrumevalError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
