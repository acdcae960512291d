#!/usr/bin/env bash
# Train the codec shipped as mne_dac.load_codec("default") and write its model card.
#
# The compact DAC (encoder_dim 16, decoder_dim 128, 2 M parameters, DAC's hop of 512 at
# 512 Hz: one frame per second, 9 codebooks of 1024 entries, 90 bits/s per channel) is
# trained from scratch (DAC's audio weights cannot be fetched here) with `mne-dac finetune`
# on PhysioNet's eegmat (ODC-By 1.0): subjects 00-19 train, 20-23 validate. ECG and the
# A2-A1 derivation are left out. Two phases, each resumable from its checkpoint in *.work/:
#   1. waveform: from DAC's random init rescaled on the data (mne_dac.data_init), relative-MSE
#      waveform loss only, dead-code restarts; MINUTES (default 50) of training. DAC's mel loss
#      is left out here: from scratch it drives the output to zero before the codec has learned
#      the waveform (codebook collapse; see the model card).
#   2. spectrum: the same plus DAC's mel loss at weight 1, STEPS2 steps (default 400): it
#      removes the broadband noise floor the decoder leaves above the EEG band.
#
# Then, in OUT's folder: the validation figures at every depth beside DCT and wavelet coding
# (evaluate_codec.py), the same codec continued for 30 steps with and without a GAN phase,
# and the model card (model_card.py, written to OUT with the suffix .md).
#
# Usage: benchmarks/train_default_codec.sh [EEGMAT_DIR] [OUT] [extra mne-dac finetune options]
#   e.g. MINUTES=50 benchmarks/train_default_codec.sh ../shared/data/eegmat default.pt --device cuda
# then copy OUT and its .md to mne_dac/data/codecs/default.pt and default.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${1:-$HERE/../../shared/data/eegmat}
OUT=${2:-default.pt}
shift $(( $# < 2 ? $# : 2 ))
DIR=$(dirname "$OUT")
SPLIT=("$DATA"/Subject0?_?.edf "$DATA"/Subject1?_?.edf --valid "$DATA"/Subject2[0-3]_?.edf --exclude "ECG ECG" "EEG A2-A1")
RECIPE=(--crop 5 --batch-size 16 --lr 5e-4 --waveform-loss relative-mse --lambda-waveform 10 --restart-dead-codes 0.01
        --steps-per-epoch 50 --no-gan)
PHASE1=${OUT%.pt}-phase1.pt

mne-dac finetune "${SPLIT[@]}" "${RECIPE[@]}" --lambda-mel 0 --init scratch --name default --out "$PHASE1" \
    --steps 100000 --minutes "${MINUTES:-50}" --resume --overwrite "$@"
mne-dac finetune "${SPLIT[@]}" "${RECIPE[@]}" --lambda-mel 1 --init "$PHASE1" --name default --out "$OUT" \
    --steps "${STEPS2:-400}" --resume --overwrite "$@"

python "$HERE/evaluate_codec.py" --codec "$OUT" --data "$DATA" --json "$DIR/eval.json" --plot "$DIR/eval.png"
for GAN in gan no-gan; do
    [ "$GAN" = gan ] && PHASE=(--gan --gan-epochs 2) || PHASE=(--no-gan)
    mne-dac finetune "${SPLIT[@]}" "${RECIPE[@]}" --lambda-mel 1 --init "$OUT" --name "$GAN" --out "$DIR/$GAN.pt" \
        --steps-per-epoch 10 --epochs 3 --overwrite --quiet "${PHASE[@]}" "$@"
done
python "$HERE/evaluate_codec.py" --codec "$DIR/gan.pt" --compare "$DIR/no-gan.pt" --data "$DATA" --seconds 20 \
    --json "$DIR/gan_eval.json"
python "$HERE/model_card.py" "$OUT" "$DIR/eval.json" --phase1 "$PHASE1" --gan "$DIR/gan_eval.json" --out "${OUT%.pt}.md" \
    --gan-note "Both rows continue the codec for the same 30 steps (3 epochs of 10 steps, batches of 16 × 5 s, same seed, data and losses): *with GAN* trains the first 2 epochs with DAC's discriminator scaled to 512 Hz (multi-period 2, 3, 5, 7, 11; STFT windows 512, 256, 128) at reduced weight (adversarial 0.1, feature matching 0.2), then drops it; *no GAN* never uses it. Validation subjects, first 20 s of each recording."
