"""mne-dac's training recipes: the settings that built the shipped codecs.

The shipped ``default`` codec (``levels-2026.12``) is built by :data:`LINEAR_CODE`: a linear transform
code of the training EEG set by hand, its decoder then trained alone
(:func:`~mne_dac.training.linear_code.build_linear_codec`; ``mne-dac finetune``'s default,
``--init linear-code``). Gradient training of a whole codec (:class:`~mne_dac.training.trainer.CodecTrainer`,
``mne-dac finetune --init scratch`` or from DAC's weights) takes its defaults from :data:`RECIPE`
and :data:`SCRATCH`, the recipe of ``default-2026.12b``; training a codec's decoder alone
(``mne-dac finetune`` from a shipped codec or a codec file) from :data:`DECODER_RECIPE`. ``benchmarks/train_default_codec.sh``
reproduces the default codec. This module imports nothing heavy (the command line reads it to
build its help).
"""

from __future__ import annotations

from typing import Any

#: Optimisation: AdamW's rate (decayed as in DAC), batches of 16 single-channel crops of 5 s,
#: epochs of 50 steps (a checkpoint and a validation after each), 10,000 steps by default.
RECIPE: dict[str, Any] = dict(lr=1e-3, batch_size=16, crop_seconds=5.0, steps_per_epoch=50, steps=10_000)

#: Gradient training of a codec's decoder alone (``CodecTrainer(trainable="decoder")``; what ``mne-dac finetune``
#: does from a shipped codec or a codec file): the settings of the default's decoder phase
#: (:func:`~mne_dac.training.linear_code.train_decoder`), overriding :data:`RECIPE`'s: the relative squared error
#: alone (no spectrum loss), every crop decoded from a random number of codebooks, a learning rate of 3e-4.
DECODER_RECIPE: dict[str, Any] = dict(lr=3e-4, lambda_spectral=0.0, quantizer_dropout=1.0)

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

#: The start of the shipped default codec's recipe (``mne-dac finetune --init linear-code``, the default).
INIT_LINEAR_CODE = "linear-code"

#: The shipped default codec's recipe, :func:`~mne_dac.training.linear_code.build_linear_codec`'s
#: arguments: ``default-2026.12b``'s compact DAC (256 Hz, the paper's preprocessing) with a hop of
#: 128 (2 frames per second) and 8 codebooks of 2048 entries that span a frame's whole latent
#: (22 bits/s per channel each; 4 by default, 88 bits/s), each frame the modulated lapped transform
#: of the two hops centred on it, fitted by k-means on the training frames shifted by quarter hops
#: and negated (at most 400,000 per codebook), encoded by a beam search of width 32 over the first 4
#: codebooks; then the decoder alone is trained for ``decoder_steps`` steps. It keeps each channel
#: better than gradient training of the whole codec at the same bits (``beam-2026.12``'s model card
#: has the ablation; ``lapped-2026.12``'s, what the lapped frames add; ``levels-2026.12``'s, what fitting
#: each training channel at the codec's level adds: its tokens then code each channel at that level,
#: ``channel_levels``).
LINEAR_CODE: dict[str, Any] = dict(
    architecture="default-2026.12b",
    encoder_rates=(2, 4, 4, 4),
    codebook_dim=128,
    default_n_codebooks=4,
    augment=True,
    lapped=True,
    channel_levels=True,
    beam_width=32,
    beam_codebooks=4,
    max_frames=400_000,
    decoder_steps=600,
)

#: The DAC-MC recipe of ``--init linear-code`` (``mne-dac finetune --model mc``; the shipped
#: ``mc-pivot-2026.12c``): the same compact DAC with a hop of 64, as a DAC-MC codec of pivot groups
#: whose 16 codebooks (8 by default) code the group's joint frames (``group_size`` channels, 4 by
#: default), set by k-means; no decoder training by default.
MC_LINEAR_CODE: dict[str, Any] = dict(architecture="default-2026.12b", n_codebooks=16, default_n_codebooks=8,
                                      decoder_steps=0)  # fmt: skip
