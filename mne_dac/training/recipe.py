"""mne-dac's training recipe: the settings that trained the shipped ``default`` codec.

:class:`~mne_dac.training.trainer.CodecTrainer`, ``mne-dac finetune`` and
``benchmarks/train_default_codec.sh`` take their defaults from here, so that the recipe users
get is the one that produced the shipped codec. This module imports nothing heavy (the command
line reads it to build its help).
"""

from __future__ import annotations

from typing import Any

#: Optimisation: AdamW's rate (decayed as in DAC), batches of 16 single-channel crops of 5 s,
#: epochs of 50 steps (a checkpoint and a validation after each), 10,000 steps by default.
RECIPE: dict[str, Any] = dict(lr=1e-3, batch_size=16, crop_seconds=5.0, steps_per_epoch=50, steps=10_000)

#: The start of a codec trained from a random DAC (``mne-dac finetune --init scratch``).
INIT_SCRATCH = "scratch"

#: Architecture of a codec trained from scratch (``mne-dac finetune --init scratch``): the compact
#: DAC at 256 Hz with strides 2, 2, 4, 4 (hop 64: 4 frames per second) and 8 residual codebooks of
#: 2048 entries (44 bits/s per channel each), looked up by Euclidean distance in 8 dimensions
#: (DAC's); it codes with 2 by default (88 bits/s per channel) and with up to 8 (352) on request.
#: At the same bits per second, more frames per second with fewer codebooks codes EEG better than
#: DAC's hop of 512 with 9 codebooks, and the nearest-entry lookup better than DAC's cosine one;
#: trained with 8 codebooks, the codec keeps the beta band, which one trained with 2 drops
#: (see the model card).
SCRATCH: dict[str, Any] = dict(
    sfreq=256.0,
    encoder_dim=16,
    decoder_dim=128,
    encoder_rates=(2, 2, 4, 4),
    n_codebooks=8,
    default_n_codebooks=2,
    codebook_size=2048,
    codebook_dim=8,
    codebook_lookup="euclidean",
)
