#!/usr/bin/env bash
# Build the DAC-MC codec shipped as mne_dac.load_codec("mc-pivot") and compare it with DAC-SC
# (the docs' "DAC-SC versus DAC-MC").
#
# mc-pivot.pt is the shipped DAC-SC architecture (default-2026.12b: 256 Hz, hop 64, codebooks of
# 2048 entries; here 16 of them) as a DAC-MC in the "group" layout with slots: one token stream per
# group of 4 neighbouring channels, each channel's frame in its own quarter of the group's latent,
# set by hand to a linear code of the groups (benchmarks/linear_code.py --group-size 4: each
# codebook codes, by k-means, principal directions of the group's joint frames). DECODER_STEPS
# (default 0, as shipped) then trains its decoder alone: a lower spectrogram loss at the same PRD,
# but less beta power. A group shares its stream, so the codec codes with 8 codebooks by default: on
# a 19-channel montage (5 groups) 8 codebooks give 93 bits/s per channel, 4 give 46, against 88 and
# 44 for DAC-SC with 2 and 1; all 16 give 185. eegmat subjects 00-19 build it, 20-23 validate.
# Then benchmarks/compare_sc_mc.py compares it with the DAC-SC codec, the block DCT and the KLT + DCT.
#
# Usage: benchmarks/train_mc_codecs.sh [EEGMAT_DIR] [OUT_DIR] [extra linear_code.py options]
#   e.g. benchmarks/train_mc_codecs.sh ../shared/data/eegmat mc-codecs --threads 2
# then copy OUT_DIR/mc-pivot.pt to mne_dac/data/codecs/mc-pivot-<release>.pt, write its model card
# and register it in mne_dac/codecs/loading.py (SHIPPED_RELEASES, CODEC_ALIASES).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${1:-$HERE/../../shared/data/eegmat}
OUT=${2:-mc-codecs}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "$OUT"

python "$HERE/linear_code.py" "$OUT/mc-pivot.pt" --data "$DATA" --architecture default-2026.12b --group-size 4 --n-codebooks 16 \
    --default-n-codebooks 8 --decoder-steps "${DECODER_STEPS:-0}" --overwrite "$@"
python "$HERE/compare_sc_mc.py" --data "$DATA" --sc default --mc "$OUT/mc-pivot.pt" --depths 1 2 4 8 12 16 \
    --out "$OUT"
