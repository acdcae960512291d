#!/usr/bin/env bash
# Train the codec shipped as mne_dac.load_codec("default") and write its model card.
#
# mne-dac's recipe (mne_dac/recipe.py, the defaults of `mne-dac finetune` and CodecTrainer):
# the compact DAC at 256 Hz, hop 64 (4 frames/s), 2 codebooks of 2048 entries (88 bits/s per
# channel), trained from scratch on PhysioNet's eegmat (ODC-By 1.0; subjects 00-19 train,
# 20-23 validate; ECG and the A2-A1 derivation left out) with the relative-MSE waveform loss and
# the band-balanced spectrum loss, EMA codebooks with dead-code restarts and the data-dependent
# init. Two phases, each resumable from its checkpoint in *.work/ (rerun the script to continue):
#   1. STEPS1 steps (default 7650, as shipped) at the recipe's learning rate, or MINUTES minutes of this run;
#   2. STEPS2 steps (default 2150, as shipped) from phase 1's codec at a 5 times lower learning rate.
# Then, in OUT's folder: the validation figures at every depth beside DCT and wavelet coding
# (evaluate_codec.py), the rest-versus-arithmetic classifier on reconstructions
# (classify_reconstructions.py), and the model card (model_card.py, OUT with the suffix .md).
#
# Usage: benchmarks/train_default_codec.sh [EEGMAT_DIR] [OUT] [extra mne-dac finetune options]
#   e.g. MINUTES=600 benchmarks/train_default_codec.sh ../shared/data/eegmat default.pt --threads 2
# then copy OUT and its .md to mne_dac/data/codecs/default-<release>.pt and .md and register it
# in mne_dac/loading.py (SHIPPED_RELEASES, CODEC_ALIASES).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${1:-$HERE/../../shared/data/eegmat}
OUT=${2:-default.pt}
shift $(( $# < 2 ? $# : 2 ))
DIR=$(dirname "$OUT")
SPLIT=("$DATA"/Subject0?_?.edf "$DATA"/Subject1?_?.edf --valid "$DATA"/Subject2[0-3]_?.edf --exclude "ECG ECG" "EEG A2-A1")
PHASE1=${OUT%.pt}-phase1.pt
LR=$(python -c "from mne_dac.training.recipe import RECIPE; print(RECIPE['lr'])")

BUDGET=()
[ -n "${MINUTES:-}" ] && BUDGET=(--minutes "$MINUTES")
mne-dac finetune "${SPLIT[@]}" --init scratch --name default --out "$PHASE1" \
    --steps "${STEPS1:-7650}" "${BUDGET[@]}" --resume --overwrite "$@"
mne-dac finetune "${SPLIT[@]}" --init "$PHASE1" --name default --out "$OUT" \
    --lr "$(python -c "print($LR / 5)")" --steps "${STEPS2:-2150}" --resume --overwrite "$@"

python "$HERE/evaluate_codec.py" --codec "$OUT" --data "$DATA" --seconds 60 --json "$DIR/eval.json" \
    --plot "$DIR/eval.png"
python "$HERE/classify_reconstructions.py" --codec "$OUT" --data "$DATA" --json "$DIR/classify.json"
python "$HERE/model_card.py" "$OUT" "$DIR/eval.json" --phase1 "$PHASE1" --classify "$DIR/classify.json" \
    --out "${OUT%.pt}.md"
