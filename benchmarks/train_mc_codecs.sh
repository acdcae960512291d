#!/usr/bin/env bash
# Train the DAC-MC codecs compared with DAC-SC in the docs ("DAC-SC versus DAC-MC").
#
# Three runs with the same budget and the recipe of the shipped codec's second phase (eegmat subjects 00-19 train,
# 20-23 validate; 5-s crops; lr 5e-4; relative-MSE waveform and mel losses; dead-code restarts; no GAN), each
# continuing the shipped DAC-SC (load_codec("default")) for the same number of steps, STEPS (default 200):
#   mc-pivot.pt       DAC-MC, group layout, random-pivot groups of 4 channels (4 groups × 4 channels per step)
#   mc-anatomical.pt  DAC-MC, group layout, anatomical regions (4 regions per step, 4.2 channels on average)
#   sc-continued.pt   DAC-SC, the shipped codec trained on (16 channels per step): the fair baseline
# Then benchmarks/compare_sc_mc.py evaluates them on the validation subjects.
#
# Usage: benchmarks/train_mc_codecs.sh [EEGMAT_DIR] [OUT_DIR] [extra mne-dac finetune options]
#   e.g. STEPS=200 benchmarks/train_mc_codecs.sh ../shared/data/eegmat mc-codecs --threads 2
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${1:-$HERE/../../shared/data/eegmat}
OUT=${2:-mc-codecs}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "$OUT"
SPLIT=("$DATA"/Subject0?_?.edf "$DATA"/Subject1?_?.edf --valid "$DATA"/Subject2[0-3]_?.edf --exclude "ECG ECG" "EEG A2-A1")
RECIPE=(--init default --crop 5 --lr 5e-4 --waveform-loss relative-mse --lambda-waveform 10 --lambda-mel 1
        --restart-dead-codes 0.01 --no-gan --steps-per-epoch 50 --steps "${STEPS:-200}")

mne-dac finetune "${SPLIT[@]}" "${RECIPE[@]}" --model mc --layout group --grouping pivot --group-size 4 \
    --batch-size 4 --name mc-pivot --out "$OUT/mc-pivot.pt" --resume --overwrite "$@"
mne-dac finetune "${SPLIT[@]}" "${RECIPE[@]}" --model mc --layout group --grouping anatomical \
    --batch-size 4 --name mc-anatomical --out "$OUT/mc-anatomical.pt" --resume --overwrite "$@"
mne-dac finetune "${SPLIT[@]}" "${RECIPE[@]}" --model sc --batch-size 16 --name sc-continued \
    --out "$OUT/sc-continued.pt" --resume --overwrite "$@"
python "$HERE/compare_sc_mc.py" --data "$DATA" --sc "$OUT/sc-continued.pt" \
    --mc "$OUT/mc-pivot.pt" "$OUT/mc-anatomical.pt" --out "$OUT"
