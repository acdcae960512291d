#!/usr/bin/env bash
# Train the codec shipped as mne_dac.load_codec("default"), with `mne-dac finetune`.
#
# The compact DAC (encoder_dim 16, decoder_dim 128, 2 M parameters, DAC's hop of 512 at
# 512 Hz: one frame per second, 9 codebooks of 1024 entries, 90 bits/s per channel) is
# trained from scratch (DAC's audio weights cannot be fetched here) on PhysioNet's eegmat
# (ODC-By 1.0): subjects 00-19 train, 20-23 validate. ECG and the A2-A1 derivation are
# left out. Rerunning resumes from the checkpoint in WORKDIR.
#
# Usage: benchmarks/train_default_codec.sh [EEGMAT_DIR] [OUT] [extra mne-dac finetune options]
#   e.g. MINUTES=65 benchmarks/train_default_codec.sh ../shared/data/eegmat default.pt --device cuda
set -euo pipefail
DATA=${1:-$(dirname "$0")/../../shared/data/eegmat}
OUT=${2:-default.pt}
shift $(( $# < 2 ? $# : 2 ))
mne-dac finetune "$DATA"/Subject0?_?.edf "$DATA"/Subject1?_?.edf \
    --valid "$DATA"/Subject2?_?.edf --exclude "ECG ECG" "EEG A2-A1" \
    --init scratch --name default --out "$OUT" \
    --crop 5 --batch-size 16 --lr 1e-3 --lambda-waveform 50 --no-gan \
    --steps-per-epoch 50 --steps 100000 --minutes "${MINUTES:-65}" \
    --resume --overwrite "$@"
