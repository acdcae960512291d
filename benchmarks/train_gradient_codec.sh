#!/usr/bin/env bash
# Train default-2026.12b, the codec shipped as mne_dac.load_codec("default") until beam-2026.12
# took its place, and write its model card: mne-dac's gradient recipe.
#
# The gradient recipe (mne_dac/training/recipe.py: RECIPE and SCRATCH, the defaults of CodecTrainer
# and of `mne-dac finetune --init scratch`):
# the compact DAC at 256 Hz, hop 64 (4 frames/s), 8 codebooks of 2048 entries (44 bits/s per
# channel each; 2 by default, 88 bits/s), trained from scratch on PhysioNet's eegmat (ODC-By 1.0;
# subjects 00-19 train, 20-23 validate; ECG and the A2-A1 derivation left out) with the
# relative-MSE waveform loss and the band-balanced spectrum loss, EMA codebooks with dead-code
# restarts, quantizer dropout and the data-dependent init: STEPS steps (default 5100, as
# shipped), or MINUTES minutes of this run. The run resumes exactly from its checkpoint in
# OUT.work/ (rerun the script to continue).
# Then, in OUT's folder: the validation figures at every depth beside DCT and wavelet coding
# (evaluate_codec.py), the rest-versus-arithmetic classifier on reconstructions
# (classify_reconstructions.py), and the model card (model_card.py, OUT with the suffix .md).
#
# Usage: benchmarks/train_gradient_codec.sh [EEGMAT_DIR] [OUT] [extra mne-dac finetune options]
#   e.g. MINUTES=600 benchmarks/train_gradient_codec.sh ../shared/data/eegmat default.pt --threads 2
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${1:-$HERE/../../shared/data/eegmat}
OUT=${2:-default.pt}
shift $(( $# < 2 ? $# : 2 ))
DIR=$(dirname "$OUT")
SPLIT=("$DATA"/Subject0?_?.edf "$DATA"/Subject1?_?.edf --valid "$DATA"/Subject2[0-3]_?.edf --exclude "ECG ECG" "EEG A2-A1")
BUDGET=()
[ -n "${MINUTES:-}" ] && BUDGET=(--minutes "$MINUTES")
mne-dac finetune "${SPLIT[@]}" --init scratch --name default --out "$OUT" \
    --steps "${STEPS:-5100}" "${BUDGET[@]}" --resume --overwrite "$@"

python "$HERE/evaluate_codec.py" --codec "$OUT" --data "$DATA" --seconds 60 --json "$DIR/eval.json" \
    --plot "$DIR/eval.png"
python "$HERE/classify_reconstructions.py" --codec "$OUT" --data "$DATA" --depths 1 2 4 8 --json "$DIR/classify.json"
python "$HERE/model_card.py" "$OUT" "$DIR/eval.json" --classify "$DIR/classify.json" \
    --out "${OUT%.pt}.md"
