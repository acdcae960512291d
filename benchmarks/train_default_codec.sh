#!/usr/bin/env bash
# Build the codec shipped as mne_dac.load_codec("default") (levels-2026.12) and evaluate it; with
# RECIPE=gradient, train default-2026.12b, the default before beam-2026.12, and write its model card.
#
# RECIPE=linear-code (the default; `mne-dac finetune`'s default, mne_dac/training/recipe.py:
# LINEAR_CODE; mne_dac.training.linear_code.build_linear_codec): default-2026.12b's compact DAC at
# 256 Hz with a hop of 128 (2 frames/s) and 8 codebooks of 2048 entries of 128 values (22 bits/s
# per channel each; 4 by default, 88 bits/s), its weights set to a linear transform code of the
# training EEG, each channel brought to the codec's level (a clip level per channel, which the codec's
# tokens then take by default): principal components of each frame's modulated lapped transform (the
# two hops centred on it), each codebook by k-means on what the coarser ones left, of the frames
# shifted by quarter hops and negated; a beam search of width 32 over the first 4 codebooks encodes.
# Then its decoder alone trains for STEPS steps (default 600, as shipped). About 40 minutes on 2 CPU
# threads; seed 0 gives the shipped weights (SHA-256 de9a9578cb56...) bit for bit (checked 2026-12-05).
#
# RECIPE=gradient (mne_dac/training/recipe.py: RECIPE and SCRATCH, the defaults of CodecTrainer
# and of `mne-dac finetune --init scratch`): the compact DAC at 256 Hz, hop 64 (4 frames/s), 8
# codebooks of 2048 entries (44 bits/s per channel each; 2 by default, 88 bits/s), trained from
# scratch with the relative-MSE waveform loss and the band-balanced spectrum loss, EMA codebooks
# with dead-code restarts, quantizer dropout and the data-dependent init: STEPS steps (default
# 5100, as shipped), or MINUTES minutes of this run. The run resumes exactly from its checkpoint
# in OUT.work/ (rerun the script to continue); benchmarks/model_card.py then writes its card.
#
# Both on PhysioNet's eegmat (ODC-By 1.0; subjects 00-19 train, 20-23 validate; ECG and the A2-A1
# derivation left out). Then, in OUT's folder: the validation figures at every depth beside DCT
# and wavelet coding (evaluate_codec.py) and the rest-versus-arithmetic classifier on
# reconstructions (classify_reconstructions.py), the tables of the model card.
#
# Usage: [RECIPE=gradient] benchmarks/train_default_codec.sh [EEGMAT_DIR] [OUT] [extra mne-dac finetune options]
#   e.g. benchmarks/train_default_codec.sh ../shared/data/eegmat default.pt --threads 2
#        RECIPE=gradient MINUTES=600 benchmarks/train_default_codec.sh ../shared/data/eegmat default.pt --threads 2
# then copy OUT to mne_dac/data/codecs/default-<release>.pt, write its model card and register it
# in mne_dac/codecs/loading.py (SHIPPED_RELEASES, CODEC_ALIASES).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${1:-$HERE/../../shared/data/eegmat}
OUT=${2:-default.pt}
shift $(( $# < 2 ? $# : 2 ))
DIR=$(dirname "$OUT")
SPLIT=("$DATA"/Subject0?_?.edf "$DATA"/Subject1?_?.edf --valid "$DATA"/Subject2[0-3]_?.edf --exclude "ECG ECG" "EEG A2-A1")
case "${RECIPE:-linear-code}" in
    linear-code) RUN=(--init linear-code --steps "${STEPS:-600}") ;;
    gradient) RUN=(--init scratch --steps "${STEPS:-5100}" --resume ${MINUTES:+--minutes "$MINUTES"}) ;;
    *) echo "RECIPE must be linear-code or gradient, got ${RECIPE}" >&2; exit 2 ;;
esac
mne-dac finetune "${SPLIT[@]}" "${RUN[@]}" --name default --out "$OUT" --overwrite "$@"

python "$HERE/evaluate_codec.py" --codec "$OUT" --data "$DATA" --seconds 60 --json "$DIR/eval.json" \
    --plot "$DIR/eval.png"
python "$HERE/classify_reconstructions.py" --codec "$OUT" --data "$DATA" --depths 1 2 4 8 --json "$DIR/classify.json"
if [ "${RECIPE:-linear-code}" = gradient ]; then
    python "$HERE/model_card.py" "$OUT" "$DIR/eval.json" --classify "$DIR/classify.json" --out "${OUT%.pt}.md"
fi
