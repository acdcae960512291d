#!/usr/bin/env bash
# Run mne-dac's benchmarks and print the codec-versus-baseline table: the figures of doc/benchmarks.rst.
#
# 1. rate_quality.py: bits/s per channel against spectrogram loss, PRD, SNR and band-power error of
#    the codec(s) at depths 1-9, beside DCT and wavelet coding at the same bits/s and lossless FLAC,
#    gzip and zstd of the 16-bit samples, on eegmat's validation subjects 20-23 (both recordings;
#    the shipped excerpt if the eegmat folder is missing);
# 2. codec_throughput.py: encode/decode speed of the codec against DAC's own DAC.compress /
#    DAC.decompress on the same EEG with the same model, speed of the baselines, and peak memory of
#    compressing and decompressing 1-hour and 24-hour 21-channel recordings (a run that would not
#    fit in the available memory is skipped, with its estimate);
# then the table of the codec against the baselines (quality, bits/s, ratio, speed).
#
# Usage: benchmarks/run_benchmarks.sh [OUT_DIR] [extra rate_quality.py options]
#   OUT_DIR defaults to doc/_static/benchmarks (what the docs page shows).
#   Environment: DATA (eegmat folder), THREADS (torch CPU threads, 2), DEVICE (cpu; e.g. "cpu cuda"),
#   BATCH ("16"; e.g. "16 64"), MIXED=1 (also bf16 on CUDA), SPEED_SECONDS (speed recording, 600),
#   REPEATS (speed: best of, 2), HOURS (memory runs, "1 24").
#   e.g. SPEED_SECONDS=60 HOURS=0.1 benchmarks/run_benchmarks.sh /tmp/bench --seconds 20 --subjects 20  # quick check
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../doc/_static/benchmarks}
shift $(( $# < 1 ? $# : 1 ))
THREADS=${THREADS:-2}
mkdir -p "$OUT"

python "$HERE/rate_quality.py" --data "${DATA:-/work/shared/data/eegmat}" --threads "$THREADS" --out-dir "$OUT" "$@"
# shellcheck disable=SC2086  # word splitting of the lists is intended
python "$HERE/codec_throughput.py" --threads "$THREADS" --device ${DEVICE:-cpu} --batch-size ${BATCH:-16} \
    ${MIXED:+--mixed-precision} --seconds "${SPEED_SECONDS:-600}" --repeats "${REPEATS:-2}" --hours ${HOURS:-1 24} \
    --rate-quality "$OUT/rate_quality.json" --out-dir "$OUT"
