#!/usr/bin/env bash
# Train (or resume) the checkpoints shipped in checkpoints/ and copy them there.
# Usage: tools/train_shipped.sh drums_rnn|music_vae|all [JOBS]
# Every run checkpoints every 200 steps; re-running the script resumes unfinished runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3
which=${1:-all}
jobs=${2:-2}
runs=()
# model preset corpus total-steps [hparam overrides]: the step counts the shipped checkpoints got
# (runs stop earlier on an eval-loss plateau; see each card.json).
if [[ $which == music_vae || $which == all ]]; then
  for corpus in techno-house-700 jazz-soul-700 techno-house-1500 jazz-soul-1500; do
    runs+=("music_vae thesis-longbar $corpus 3500 ")
  done
fi
if [[ $which == drums_rnn || $which == all ]]; then
  runs+=("drums_rnn thesis techno-house-700 3500 " "drums_rnn thesis jazz-soul-700 3500 ")
  runs+=("drums_rnn thesis techno-house-1500 2000 " "drums_rnn thesis jazz-soul-1500 2000 ")
fi
if [[ $which == music_vae || $which == all ]]; then
  for corpus in techno-house-1500 jazz-soul-1500; do
    runs+=("music_vae hier-60bar $corpus 1400 ")
    runs+=("music_vae cat-drums_2bar_small $corpus 1000 batch_size=64")
  done
fi

train_one() {
  read -r model preset corpus steps hparams <<<"$1"
  dir=runs/$model/$preset/$corpus
  resume=()
  [[ -f $dir/state.npz ]] && resume=(--resume)
  # The flat 60-bar MusicVAE's free-running eval loss is too noisy to stop on or pick
  # weights by: it trains to its step budget and ships its last weights.
  stopping=(--patience 3)
  [[ $preset == thesis-longbar ]] && stopping=(--patience 0 --export-last)
  mkdir -p "$dir"
  .venv/bin/drumeval train "$model" --preset "$preset" --corpus "$corpus" --steps "$steps" \
    --hparams "${hparams:-}" --eval-every 200 --checkpoint-every 200 "${stopping[@]}" \
    --run-dir "$dir" --ship "${resume[@]}" >"$dir.log" 2>&1 && echo "done $dir" || echo "FAILED $dir (see $dir.log)"
}
export -f train_one
printf '%s\n' "${runs[@]}" | xargs -P "$jobs" -I{} bash -c 'train_one "$@"' _ {}
