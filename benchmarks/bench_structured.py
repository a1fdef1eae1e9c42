"""Structure model and arranger speed: one 60-bar track each, beside DrumsRNN in the same run.

Run: `KERAS_BACKEND=jax .venv/bin/python benchmarks/bench_structured.py [--quick]`.
The structured model is DrumsRNN plus one control kernel on layer 0's gates, so it should
sample within 1.5× the DrumsRNN it was warm-started from; DrumsRNN is timed here, on the same
corpus and length, as the anchor, because absolute times on this shared machine swing 20–30 %
from hour to hour. Both go through `drumeval.generate` (shipped checkpoints, no Keras), warm:
the best of a few calls after the first, which loads the weights and compiles. The arranger
(issue 33's training-free baseline) is timed twice: building its pool from the corpus's train
split (once per corpus, as `drumeval structure-report` does) and filling one form from it,
whose target is DrumsRNN's own warm time (a retrieval baseline should not be slower than the
model it is compared with).
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

from _report import report
from _timing import cold_and_warm

from drumeval.generate import generate
from drumeval.models.arranger import arrange_tracks, pool_from_corpus
from drumeval.models.structured_steps import default_form

GENRE, CORPUS = "techno-house", "techno-house-700"
BARS = 60
STRUCTURED_VS_DRUMS_RNN = 1.5  # the structured model's warm sampling, at most × DrumsRNN's
ONE_TRACK_TARGET_S = 0.5  # DrumsRNN's own target for one 960-step sample (bench_drums_rnn)
POOL_TARGET_S = 1.0  # building the arranger's pool: no wait worth a progress bar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 warm calls instead of 20")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    form = default_form(GENRE, BARS)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average at start: {load} (other work on the machine slows every figure)")
    print(f"One {BARS}-bar track, {CORPUS}, shipped checkpoints; form: {form.to_text()}")

    drums_rnn = cold_and_warm(
        lambda seed: generate("drums_rnn", corpus=CORPUS, bars=BARS, seed=seed), repeats
    )
    structured = cold_and_warm(
        lambda seed: generate("structured", corpus=CORPUS, form=form, seed=seed), repeats
    )
    started = time.perf_counter()
    pool = pool_from_corpus(CORPUS)
    pool_s = time.perf_counter() - started
    arranger = cold_and_warm(lambda seed: arrange_tracks(form, pool, seed=seed), repeats)

    print(f"\n{'':<20}{'warm ms':>9}{'cold s':>8}  target")
    structured_target = STRUCTURED_VS_DRUMS_RNN * drums_rnn[1]
    rows = [
        ("DrumsRNN (anchor)", drums_rnn, ONE_TRACK_TARGET_S, f"< {ONE_TRACK_TARGET_S * 1e3:g} ms"),
        (
            "structured",
            structured,
            structured_target,
            f"≤ {STRUCTURED_VS_DRUMS_RNN:g} × DrumsRNN = {structured_target * 1e3:.1f} ms",
        ),
        ("arranger", arranger, drums_rnn[1], f"≤ DrumsRNN = {drums_rnn[1] * 1e3:.1f} ms"),
    ]
    for label, (cold, warm), target, target_text in rows:
        verdict = "ok" if warm <= target else "MISS"
        print(f"{label:<20}{warm * 1e3:>9.2f}{cold:>8.2f}  {target_text}  {verdict}")
    pool_verdict = "ok" if pool_s < POOL_TARGET_S else "MISS"
    print(f"arranger pool: {pool_s:.2f} s, once per corpus (< {POOL_TARGET_S:g} s)  {pool_verdict}")
    print(
        f"structured / DrumsRNN, warm: {structured[1] / drums_rnn[1]:.2f}× "
        "(cold = first call: checkpoint load and XLA compile, less with the JAX cache)"
    )

    report(f"DrumsRNN one {BARS}-bar track, warm (anchor)", drums_rnn[1],
           f"< {ONE_TRACK_TARGET_S:g}", "s", drums_rnn[1] < ONE_TRACK_TARGET_S)  # fmt: skip
    report(f"Structured one {BARS}-bar track, warm, × DrumsRNN", structured[1] / drums_rnn[1],
           f"≤ {STRUCTURED_VS_DRUMS_RNN:g}", "×",
           structured[1] <= structured_target)  # fmt: skip
    report(f"Arranger one {BARS}-bar track, × DrumsRNN", arranger[1] / drums_rnn[1], "≤ 1", "×",
           arranger[1] <= drums_rnn[1])  # fmt: skip
    report(f"Arranger pool from {CORPUS}", pool_s, f"< {POOL_TARGET_S:g}", "s",
           pool_s < POOL_TARGET_S)  # fmt: skip


if __name__ == "__main__":
    main()
