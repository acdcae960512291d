"""
.. _tut-finetune:

=================================
Train a codec on your EEG
=================================

This tutorial runs mne-dac's two training recipes on the EEG excerpt shipped with mne-dac,
with the Python API, then shows the equivalent ``mne-dac finetune`` commands.

**The recipe that built the shipped** ``default`` **codec** (``levels-2026.12``; ``mne-dac
finetune``'s default, ``--init linear-code``; :data:`~mne_dac.training.recipe.LINEAR_CODE`) does
without gradient descent for all but the decoder:

- **Transform**: the compact DAC's encoder is set to cut each channel into frames of one hop
  (128 samples at 256 Hz), take each frame's modulated lapped transform (the two hops centred on
  it, sine window: no block edges) and project it on the principal components; the decoder, to
  invert that and overlap-add.
- **Codebooks**: each of the 8 residual codebooks of 2048 entries is found by k-means on what
  the coarser ones left, over the training frames shifted by quarter hops and negated, each
  training channel first brought to the codec's level (its own clip level); the codec's tokens
  then code each channel at that level (``codec.channel_levels``).
- **Encoder**: a beam search chooses the first 4 codes of a frame together
  (:class:`~mne_dac.models.beam_search.BeamResidualVectorQuantize`).
- **Decoder**: then trained alone, to the waveform error relative to the signal at a random
  depth (:func:`~mne_dac.training.linear_code.train_decoder`). Gradient descent on the whole
  codec from these weights makes them worse; to adapt such a codec to other EEG, train its
  decoder alone (``CodecTrainer(trainable="decoder")``, below), which keeps its tokens.

**Gradient training of a whole codec** is the default of
:class:`mne_dac.training.trainer.CodecTrainer` (a :class:`skorch.NeuralNet`) and of
``mne-dac finetune --init scratch`` (or from DAC's weights): the recipe of
``default-2026.12b``, which keeps each channel less well at the same bits (38.3 against 31.7 %
PRD at 88 bits/s on eegmat's validation subjects):

- **Data**: single-channel crops of 5 s drawn at random from every EEG channel of
  every recording, preprocessed as for compression (resampled to the codec rate,
  high-passed at 0.1 Hz, clipped to ±200 µV and scaled to [-1, 1]), then preloaded in
  memory when they fit.
- **Losses**: the waveform error relative to the signal, ``sum((y - x)**2) / sum(x**2)``
  (the square of PRD, :func:`~mne_dac.training.losses.relative_mse`), plus a **band-balanced
  spectrum loss** (:class:`~mne_dac.training.losses.BandSpectralLoss`) in which delta, theta,
  alpha, beta and gamma weigh the same whatever their power, so that the codec keeps the
  weak bands too. DAC's log-mel loss weights the empty range above 50 Hz like the EEG
  band and rewards an output of zero; it stays the paper's reported measure
  (``valid_mel``) but is not trained on.
- **Codebooks**: initialised from the data and kept there: entries move towards the
  mean of the latents they code (online k-means), and entries unused for a while
  restart from the batch.
- **Initialisation from scratch**: DAC's random init scaled on the data
  (:func:`~mne_dac.training.data_init.init_from_data`); without it, EEG-scale latents are so
  small that every codebook collapses to one entry.
- **Quantizer dropout**: half of each batch is coded with a random number of
  codebooks, so that one codec serves several bitrates.
- **Monitoring**: every epoch records the validation PRD, the band-power errors and
  how many entries each codebook uses; a run whose codebooks collapse stops with a
  clear message (:class:`~mne_dac.training.trainer.CodebookCollapseError`).

The paper's recipe (mel loss, waveform L1 and DAC's GAN at a reduced weight, dropped
once it diverges) is available with ``lambda_mel=15, waveform_loss="l1",
lambda_waveform=1, lambda_spectral=0, gan=True``; it is meant for fine-tuning DAC's
audio weights, not for training from scratch, where the mel loss drives the output to
zero.
"""

# %%
# The default codec's recipe: a linear code of your EEG
# -----------------------------------------------------
# Subject 0 trains and subject 1 validates. :func:`~mne_dac.evaluation.datasets.read_excerpt`
# types the ECG and A2-A1 channels as non-EEG, so that only EEG is coded.
# :func:`~mne_dac.training.linear_code.build_linear_codec` takes the recipe's settings
# (:data:`~mne_dac.training.recipe.LINEAR_CODE`); here its k-means see fewer frames and its
# decoder trains for fewer steps than the shipped codec's 600 (with the environment variable
# ``MNE_DAC_FAST=1``, set when the documentation is tested, fewer still), so that it runs in
# a minute or two. Two minutes of EEG make a poor code: the shipped codec was built so on
# eegmat's 20 training subjects, in 50 minutes on 2 CPU threads, and keeps such EEG as well as
# the block DCT (its model card).
import os
import tempfile
from pathlib import Path

import torch
from skorch.helper import predefined_split

import mne_dac
from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.signal.metrics import codebook_usage, fidelity_report
from mne_dac.training import CodecTrainer, checkpoint_callbacks, plot_history
from mne_dac.training.crops import RandomCropDataset
from mne_dac.training.linear_code import build_linear_codec
from mne_dac.training.recipe import DECODER_RECIPE, LINEAR_CODE, SCRATCH

FAST = os.environ.get("MNE_DAC_FAST") == "1"
torch.manual_seed(0)
train_raws = [read_excerpt(0, task, verbose="error") for task in ("rest", "arithmetic")]
valid_raws = [read_excerpt(1, task, verbose="error") for task in ("rest", "arithmetic")]

settings = dict(LINEAR_CODE, max_frames=20_000, decoder_steps=60)
if FAST:
    settings.update(n_codebooks=4, max_frames=3000, beam_width=4, decoder_steps=2)
code = build_linear_codec(train_raws, **settings, verbose="error")
print("PRD (%) of the training frames after each codebook:", " ".join(f"{p:.1f}" for p in code.frame_prd))
print(code.codec)

# %%
# Measure what it keeps on held-out EEG (20 s of subject 1 at rest), at its default 88 bits/s
# per channel, against the block DCT of each channel at the same bits:
from mne_dac.evaluation.baselines import make_coder

raw = read_excerpt(1, "rest", verbose="error").crop(0, 20, include_tmax=False).pick("eeg")
bits = code.codec.bits_per_second()
tokens = mne_dac.tokenize_raw(raw, code.codec, verbose="error")
linear = fidelity_report(raw, mne_dac.reconstruct_raw(tokens, code.codec, verbose="error"), verbose="error").overall
dct_recon, _ = make_coder("dct", bits, sfreq=code.codec.sfreq).code_raw(raw, code.codec.preprocessing)
dct = fidelity_report(raw, dct_recon, verbose="error").overall
for label, overall in (("linear code", linear), ("block DCT", dct)):
    bands = ", ".join(f"{b} {overall['err_' + b]:.2f}" for b in ("delta", "theta", "alpha", "beta"))
    print(f"{label}, {bits:g} bits/s per channel: PRD {overall['prd']:.0f} %, band-power errors {bands}")

# %%
# Gradient training: crops
# ------------------------
# :class:`~mne_dac.training.crops.RandomCropDataset` draws the crops lazily from recordings
# (``mne.io.Raw`` objects, files or a folder). Each epoch draws new training crops;
# the validation crops stay the same, so validation losses are comparable across
# epochs. With ``MNE_DAC_FAST=1`` a tiny codec runs two steps; otherwise the gradient
# recipe's codec runs 60 steps, well under two minutes on a laptop CPU. A usable codec
# takes thousands of steps (``default-2026.12b``: 5,100; see its model card).
rates = list(SCRATCH["encoder_rates"])
architecture = dict(encoder_dim=SCRATCH["encoder_dim"], decoder_dim=SCRATCH["decoder_dim"])
crop, batch_size, steps_per_epoch, epochs, valid_crops = 5.0, 8, 10, 6, 16
if FAST:
    architecture = dict(encoder_dim=4, decoder_dim=16)  # 0.1 M parameters
    crop, batch_size, steps_per_epoch, epochs, valid_crops = 3.0, 2, 1, 2, 2
sfreq = SCRATCH["sfreq"]

kw = dict(codec_sfreq=sfreq, crop_duration=crop)
train = RandomCropDataset(train_raws, n_crops=steps_per_epoch * batch_size, seed=0, **kw)
valid = RandomCropDataset(valid_raws, n_crops=valid_crops, seed=1, **kw)
print(train)
print(valid)

# %%
# The starting codec
# ------------------
# The gradient recipe's codec is a compact DAC (1.7 M parameters) at 256 Hz with a hop of 64
# samples: 4 frames per second and 8 codebooks of 2048 entries, 44 bits per second per
# channel each. It codes with 2 by default (88 bits/s, ``default_n_codebooks``) and with up
# to 8 on request: trained with 8, the codec keeps the beta band, which a codec trained
# with 2 drops. At the same bitrate, more frames with fewer codebooks code EEG better than
# DAC's hop of 512 with 9 codebooks, and its codebooks are looked up by Euclidean distance
# (``codebook_lookup="euclidean"``): DAC's own lookup goes by direction only, so it loses
# the amplitude that EEG varies so much in. :func:`~mne_dac.load_codec` builds it at random;
# the trainer initialises it from the data (``data_init``, on by default for a random
# codec). Any codec trains the same way: a shipped one (``"default-2026.12b"``), a codec file
# of yours to continue training, or DAC's audio weights (``"44khz"``, the paper's path,
# then with the paper's losses).
codec = mne_dac.load_codec(
    "random", sfreq=sfreq, n_codebooks=SCRATCH["n_codebooks"], codebook_size=SCRATCH["codebook_size"],
    dac_kwargs=dict(
        architecture, encoder_rates=rates, decoder_rates=rates[::-1], codebook_lookup=SCRATCH["codebook_lookup"]
    ),
    device="cpu",
)  # fmt: skip
codec.default_n_codebooks = SCRATCH["default_n_codebooks"]
print(codec)

# %%
# Train
# -----
# :meth:`CodecTrainer.from_codec <mne_dac.training.trainer.CodecTrainer.from_codec>` copies the
# codec into a trainer with the recipe's defaults; here only the batch size and the
# number of epochs are set. :func:`~mne_dac.training.trainer.checkpoint_callbacks` saves the
# codec, its optimizer and the history after every epoch, and resumes from them when
# ``fit`` is called again with the same folder.
workdir = Path(tempfile.mkdtemp()) / "checkpoint"
net = CodecTrainer.from_codec(
    codec,
    batch_size=batch_size,
    max_epochs=epochs,
    train_split=predefined_split(valid),
    iterator_train__shuffle=True,
    callbacks=checkpoint_callbacks(workdir, gan=False, monitor=None),
)
net.fit(train)

# %%
# The history: the losses; the validation PRD; the validation band-power errors; and
# the fewest entries a codebook used (a collapsing codec falls towards 1).
fig = plot_history(net)
print(f"Checkpoint files: {sorted(p.name for p in workdir.iterdir())}")

# %%
# Use the fine-tuned codec
# ------------------------
# :meth:`~mne_dac.training.trainer.CodecTrainer.to_codec` returns an ordinary
# :class:`~mne_dac.DACCodec`: tokenize and reconstruct with it, or save it and pass
# the file wherever a codec is expected (``load_codec``, ``mne-dac compress --codec``).
tuned = net.to_codec(name="eeg-tutorial", default_n_codebooks=codec.default_n_codebooks)
fname = tuned.save(workdir.parent / "eeg-tutorial.pt", metadata=dict(steps=epochs * steps_per_epoch))
print(mne_dac.load_codec(fname))

# %%
# Measure what the codec keeps on the same held-out EEG, before and after these few
# steps: PRD, the band-power errors and the codebook use. A handful of steps only starts
# the descent; see ``default-2026.12b``'s model card for what thousands of steps reach.
for label, c in [("before", codec), ("after", tuned)]:
    tokens = mne_dac.tokenize_raw(raw, c, verbose="error")
    recon = mne_dac.reconstruct_raw(tokens, c, verbose="error")
    overall = fidelity_report(raw, recon, verbose="error").overall
    used = codebook_usage(tokens)["n_used"].min()
    bands = ", ".join(f"{b} {overall['err_' + b]:.2f}" for b in ("delta", "theta", "alpha", "beta"))
    print(f"{label} training: PRD {overall['prd']:.0f} %, band-power errors {bands}; "
          f"every codebook uses at least {used} entries")  # fmt: skip
print(fidelity_report(raw, recon, verbose="error"))

# %%
# Adapt a linear code's decoder with the trainer
# ----------------------------------------------
# The trainer also trains a codec's decoder alone (``trainable="decoder"``), its encoder
# and codebooks frozen: each crop is coded as the codec codes (beam search included) and
# decoded from a random number of codebooks, with the settings of the default's decoder phase
# (:data:`~mne_dac.training.recipe.DECODER_RECIPE`, what ``mne-dac finetune`` uses from a
# shipped codec or a codec file). Its tokens do not change; this is how to adapt the shipped
# ``default`` (or the linear code above) to other EEG with skorch's checkpoints, history and
# callbacks. Here the linear code built above continues on the same crops:
net = CodecTrainer.from_codec(
    code.codec,
    trainable="decoder",
    **DECODER_RECIPE,
    batch_size=batch_size,
    max_epochs=1 if FAST else 2,
    train_split=predefined_split(valid),
    iterator_train__shuffle=True,
)
net.fit(train)
adapted = net.to_codec(name="adapted", default_n_codebooks=code.codec.default_n_codebooks)
for label, c in [("linear code", code.codec), ("decoder trained further", adapted)]:
    recon = mne_dac.reconstruct_raw(mne_dac.tokenize_raw(raw, c, verbose="error"), c, verbose="error")
    print(f"{label}: PRD {fidelity_report(raw, recon, verbose='error').overall['prd']:.1f} %")

# %%
# The same from the command line
# ------------------------------
# ``mne-dac finetune`` runs these recipes on a folder (or files) of EEG in any format MNE
# reads, writes the codec and prints a summary. By default it builds the default codec's
# linear code and trains its decoder for 600 steps, and with ``--valid`` reports what the
# codec keeps on held-out recordings:
#
# .. code-block:: console
#
#     $ mne-dac finetune eeg/train/ --valid eeg/valid/ --out eeg-dac.pt
#
# Gradient training writes its training history plot (``<out>_history.png``) and a
# checkpoint folder (``<out>.work/``) too. Train the gradient recipe's codec from scratch,
# validate on held-out recordings, and stop after 100 000 steps or 12 hours, whichever
# comes first:
#
# .. code-block:: console
#
#     $ mne-dac finetune eeg/train/ --valid eeg/valid/ --init scratch --out eeg-dac.pt \
#           --steps 100000 --minutes 720
#
# Rerun the same command with ``--resume --overwrite`` to continue an interrupted run
# from its last epoch: it resumes exactly. Other starting points: ``--init default`` (adapt the
# shipped codec to your EEG: from a shipped codec or a codec file, ``mne-dac finetune`` trains
# the decoder alone unless ``--train all`` is given), ``--init eeg-dac.pt`` (continue a codec of
# yours), or DAC's audio weights with the paper's losses:
#
# .. code-block:: console
#
#     $ mne-dac finetune eeg/train/ --valid eeg/valid/ --init 44khz --sfreq 512 --out eeg-44k.pt \
#           --lambda-mel 15 --waveform-loss l1 --lambda-waveform 1 --lambda-spectral 0 --gan
#
# The equivalent of this tutorial's gradient run, on folders holding the training and
# validation files (for the raw eegmat EDF files, add ``--exclude "ECG ECG" "EEG A2-A1"``
# to skip the channels that EDF types as EEG but are not):
cli = (
    f"mne-dac finetune eeg/ --init scratch --encoder-dim {architecture['encoder_dim']} "
    f"--decoder-dim {architecture['decoder_dim']} --crop {crop:g} --batch-size {batch_size} "
    f"--steps {epochs * steps_per_epoch} --steps-per-epoch {steps_per_epoch} "
    f"--valid eeg-valid/ --valid-crops {valid_crops} --out eeg-tutorial.pt"
)
print(cli)
