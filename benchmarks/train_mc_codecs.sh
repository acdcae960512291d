#!/usr/bin/env bash
# Train the DAC-MC codec shipped as mne_dac.load_codec("mc-pivot") and compare it with DAC-SC
# (the docs' "DAC-SC versus DAC-MC").
#
# mc-pivot.pt continues the DAC-SC codec INIT (default: the shipped default, default-2026.12b: 256 Hz,
# hop 64, 8 codebooks of 2048 entries) as a DAC-MC in the "group" layout: one token stream per group
# of 4 channels drawn around random pivot electrodes (cross-channel attention, then the group's mean
# latent). A group shares its stream, so the codec codes with all 8 codebooks by default: on a
# 19-channel montage (5 groups) 8 codebooks give 93 bits/s per channel, 4 give 46, against 88 and 44
# for DAC-SC with 2 and 1. mne-dac's recipe otherwise (relative-MSE waveform and band-spectrum losses,
# EMA codebooks with dead-code restarts, quantizer dropout, no GAN), at lr 5e-4, batches of 4 groups
# of 4 channels, 5-s crops; eegmat subjects 00-19 train, 20-23 validate. STEPS (default 1500, as
# shipped: the validation PRD is flat from the first epochs) steps, or MINUTES minutes of this run;
# rerun to resume from the checkpoint in OUT_DIR/mc-pivot.pt.work.
# Then benchmarks/compare_sc_mc.py compares it with the DAC-SC codec, the block DCT and the KLT + DCT.
#
# Usage: benchmarks/train_mc_codecs.sh [EEGMAT_DIR] [OUT_DIR] [extra mne-dac finetune options]
#   e.g. benchmarks/train_mc_codecs.sh ../shared/data/eegmat mc-codecs --threads 2
# then copy OUT_DIR/mc-pivot.pt to mne_dac/data/codecs/mc-pivot-<release>.pt, write its model card
# and register it in mne_dac/codecs/loading.py (SHIPPED_RELEASES, CODEC_ALIASES).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${1:-$HERE/../../shared/data/eegmat}
OUT=${2:-mc-codecs}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "$OUT"
SPLIT=("$DATA"/Subject0?_?.edf "$DATA"/Subject1?_?.edf --valid "$DATA"/Subject2[0-3]_?.edf --exclude "ECG ECG" "EEG A2-A1")
BUDGET=()
[ -n "${MINUTES:-}" ] && BUDGET=(--minutes "$MINUTES")

mne-dac finetune "${SPLIT[@]}" --init "${INIT:-default}" --model mc --layout group --grouping pivot --group-size 4 \
    --n-codebooks 8 --default-n-codebooks 8 --batch-size 4 --lr 5e-4 --steps-per-epoch 50 --steps "${STEPS:-1500}" "${BUDGET[@]}" \
    --name mc-pivot --out "$OUT/mc-pivot.pt" --resume --overwrite "$@"
python "$HERE/compare_sc_mc.py" --data "$DATA" --sc "${INIT:-default}" --mc "$OUT/mc-pivot.pt" --out "$OUT"
