#!/usr/bin/env bash
# Build the codec shipped as mne_dac.load_codec("default") (beam-2026.12) and evaluate it.
#
# The recipe of `mne-dac finetune`'s default, --init linear-code (mne_dac/training/recipe.py:
# LINEAR_CODE; mne_dac.training.linear_code.build_linear_codec): default-2026.12b's compact DAC at
# 256 Hz with a hop of 128 (2 frames/s) and 8 codebooks of 2048 entries of 128 values (22 bits/s
# per channel each; 4 by default, 88 bits/s), its weights set to a linear transform code of
# PhysioNet's eegmat (ODC-By 1.0; subjects 00-19 build it, 20-23 validate; ECG and the A2-A1
# derivation left out): principal components of frames of one hop, each codebook by k-means on what
# the coarser ones left, of the frames shifted by quarter hops and negated; a beam search of width
# 32 over the first 4 codebooks encodes. Then its decoder alone trains for STEPS steps (default
# 600, as shipped). About 50 minutes on 2 CPU threads; seed 0 gives the shipped weights (SHA-256
# d5e56f0aae42...) bit for bit.
# Then, in OUT's folder: the validation figures at every depth beside DCT and wavelet coding
# (evaluate_codec.py) and the rest-versus-arithmetic classifier on reconstructions
# (classify_reconstructions.py), the tables of the model card (mne_dac/data/codecs/beam-2026.12.md).
#
# Usage: benchmarks/train_default_codec.sh [EEGMAT_DIR] [OUT] [extra mne-dac finetune options]
#   e.g. benchmarks/train_default_codec.sh ../shared/data/eegmat default.pt --threads 2
# then copy OUT to mne_dac/data/codecs/default-<release>.pt, write its model card and register it
# in mne_dac/codecs/loading.py (SHIPPED_RELEASES, CODEC_ALIASES).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${1:-$HERE/../../shared/data/eegmat}
OUT=${2:-default.pt}
shift $(( $# < 2 ? $# : 2 ))
DIR=$(dirname "$OUT")
SPLIT=("$DATA"/Subject0?_?.edf "$DATA"/Subject1?_?.edf --valid "$DATA"/Subject2[0-3]_?.edf --exclude "ECG ECG" "EEG A2-A1")
mne-dac finetune "${SPLIT[@]}" --init linear-code --name default --out "$OUT" --steps "${STEPS:-600}" \
    --overwrite "$@"

python "$HERE/evaluate_codec.py" --codec "$OUT" --data "$DATA" --seconds 60 --json "$DIR/eval.json" \
    --plot "$DIR/eval.png"
python "$HERE/classify_reconstructions.py" --codec "$OUT" --data "$DATA" --depths 1 2 4 8 --json "$DIR/classify.json"
