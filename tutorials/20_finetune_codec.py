"""
.. _tut-finetune:

=================================
Fine-tune a codec on your EEG
=================================

DAC, the neural audio codec mne-dac builds on, was trained on speech, music and
environmental sound. "Adapting Neural Audio Codecs to EEG" shows that its
audio-pretrained weights are a good starting point for EEG: **fine-tuning the 44 kHz
audio model on EEG reconstructs EEG better than the same architecture trained from
scratch** on the same EEG for the same time. This tutorial explains the training
recipe and runs a few steps of it on the EEG excerpt shipped with mne-dac, with the
Python API, then shows the equivalent ``mne-dac finetune`` command.

The recipe, as implemented by :class:`mne_dac.training.CodecTrainer` (a
:class:`skorch.NeuralNet`):

- **Data**: single-channel crops (30 s in the paper) drawn at random from every EEG
  channel of every recording, preprocessed as for compression: resampled to the codec
  rate (512 or 256 Hz), high-passed at 0.1 Hz, clipped to ±200 µV and scaled to
  [-1, 1]. The codec sees EEG as mono "audio" at a very low sampling rate.
- **Losses**, those of DAC's own training: a multi-scale **mel-spectrogram loss**
  (weight 15, also the validation loss: the paper's "spectrogram loss"), a **waveform
  L1 loss**, and the vector-quantizer's **commitment and codebook losses**.
- **GAN**: DAC's multi-period and multi-resolution discriminators (window sizes scaled
  from 44.1 kHz audio to EEG rates) at a **reduced weight** (adversarial 0.1 and
  feature matching 0.2 instead of 1 and 2). Adversarial training on EEG can diverge:
  the trainer watches the training mel loss and **drops the discriminator once it
  diverges** (or after a fixed number of epochs), and training continues without it.
- **Quantizer dropout**: half of each batch is coded with a random number of
  codebooks, so that one codec serves several bitrates (decode with fewer codebooks
  for fewer bits per second).
"""

# %%
# Training crops and validation crops
# -----------------------------------
# :class:`~mne_dac.crops.RandomCropDataset` draws the crops lazily from recordings
# (``mne.io.Raw`` objects, files or a folder). Each epoch draws new training crops;
# the validation crops stay the same, so validation losses are comparable across
# epochs. Subject 0 trains and subject 1 validates. Only EEG channels are drawn:
# :func:`~mne_dac.datasets.read_excerpt` types the ECG and A2-A1 channels as non-EEG.
#
# With the environment variable ``MNE_DAC_FAST=1`` (set when the documentation is
# tested), a tiny codec runs two steps; otherwise the compact codec runs 20 steps.
# Both take well under two minutes on a laptop CPU. Real fine-tuning takes thousands
# of steps on a GPU.
import os
import tempfile
from pathlib import Path

import torch
from skorch.helper import predefined_split

import mne_dac
from mne_dac.crops import RandomCropDataset
from mne_dac.datasets import read_excerpt
from mne_dac.metrics import fidelity_report
from mne_dac.training import CodecTrainer, checkpoint_callbacks, plot_history

FAST = os.environ.get("MNE_DAC_FAST") == "1"
torch.manual_seed(0)
if FAST:
    architecture = dict(encoder_dim=4, decoder_dim=16)  # 0.1 M parameters
    crop, batch_size, steps_per_epoch, epochs, valid_crops = 3.0, 2, 1, 2, 2
else:
    architecture = dict(encoder_dim=16, decoder_dim=128)  # the compact codec, 2 M parameters
    crop, batch_size, steps_per_epoch, epochs, valid_crops = 5.0, 4, 5, 4, 8

train_raws = [read_excerpt(0, task, verbose="error") for task in ("rest", "arithmetic")]
valid_raws = [read_excerpt(1, task, verbose="error") for task in ("rest", "arithmetic")]
train = RandomCropDataset(train_raws, crop_duration=crop, n_crops=steps_per_epoch * batch_size, seed=0)
valid = RandomCropDataset(valid_raws, crop_duration=crop, n_crops=valid_crops, seed=1)
print(train)
print(valid)

# %%
# The starting codec
# ------------------
# The paper's main path starts from DAC's audio-pretrained 44 kHz model, used at an
# EEG rate of 512 Hz (one 512-sample frame per second, 9 codebooks of 1024 entries)::
#
#     codec = mne_dac.load_codec("44khz", sfreq=512)  # 74 M parameters
#
# ``load_codec`` fetches the weights through DAC's own cache and downloader; offline,
# download them once and pass the ``weights.pth`` path instead. They cannot be
# downloaded where this documentation is built, so this tutorial starts from a random
# codec, which is the paper's from-scratch baseline. Any codec works the same way:
# the shipped one (``"default"``), or one of your own codec files to continue training.
codec = mne_dac.load_codec("random", n_codebooks=9, codebook_size=1024, dac_kwargs=architecture, device="cpu")
print(codec)

# %%
# Train
# -----
# :meth:`CodecTrainer.from_codec <mne_dac.training.CodecTrainer.from_codec>` copies the
# codec into a trainer; ``n_codebooks=`` would pre-prune it to its first codebooks
# (to train a lower-bitrate codec from the 9-codebook audio model). Here the GAN is on
# for the first epoch only (``gan_stop_epoch=1``); without ``gan_stop_epoch`` it stays
# on until it diverges. :func:`~mne_dac.training.checkpoint_callbacks` saves the
# generator, the discriminator, their optimizers and the history after every epoch,
# and resumes from them when ``fit`` is called again with the same folder.
workdir = Path(tempfile.mkdtemp()) / "checkpoint"
net = CodecTrainer.from_codec(
    codec,
    lr=3e-4,
    batch_size=batch_size,
    max_epochs=epochs,
    train_split=predefined_split(valid),
    gan=True,
    gan_stop_epoch=1,
    gan_periods=(2, 3),  # fewer, smaller discriminators than DAC's, for speed on a CPU
    iterator_train__shuffle=True,
    callbacks=checkpoint_callbacks(workdir, gan=True, monitor=None),
)
net.fit(train)

# %%
# The history: total and mel training losses and the validation mel loss (left),
# the adversarial, feature-matching and discriminator losses of the GAN phase
# (right; the GAN epochs are shaded).
fig = plot_history(net)
print(f"Checkpoint files: {sorted(p.name for p in workdir.iterdir())}")

# %%
# Use the fine-tuned codec
# ------------------------
# :meth:`~mne_dac.training.CodecTrainer.to_codec` returns an ordinary
# :class:`~mne_dac.DACCodec`: tokenize and reconstruct with it, or save it and pass
# the file wherever a codec is expected (``load_codec``, ``mne-dac compress --codec``).
tuned = net.to_codec(name="eeg-tutorial")
fname = tuned.save(workdir.parent / "eeg-tutorial.pt", metadata=dict(steps=epochs * steps_per_epoch))
print(mne_dac.load_codec(fname))

# %%
# Measure what the codec keeps on held-out EEG (20 s of subject 1 at rest), before
# and after these few steps. A handful of steps only starts the descent: the mel
# (spectrogram) loss, which dominates the training loss, falls first, while the
# waveform error (PRD) may still grow; a usable codec takes thousands of steps.
raw = read_excerpt(1, "rest", verbose="error").crop(0, 20, include_tmax=False).pick("eeg")
for label, c in [("before", codec), ("after", tuned)]:
    tokens = mne_dac.tokenize_raw(raw, c, verbose="error")
    recon = mne_dac.reconstruct_raw(tokens, c, verbose="error")
    overall = fidelity_report(raw, recon, verbose="error").overall
    print(f"{label} training: spectrogram loss {overall['spectrogram_loss']:.2f}, PRD {overall['prd']:.0f} %")
print(fidelity_report(raw, recon, verbose="error"))

# %%
# The same from the command line
# ------------------------------
# ``mne-dac finetune`` runs this recipe on a folder (or files) of EEG in any format MNE
# reads, writes the codec, its training history plot (``<out>_history.png``) and a
# checkpoint folder (``<out>.work/``), and prints a summary. Fine-tune DAC's 44 kHz
# model at 512 Hz on 30 s crops, validate on held-out recordings, stop the GAN when
# it diverges, and stop after 10 000 steps or 12 hours, whichever comes first:
#
# .. code-block:: console
#
#     $ mne-dac finetune eeg/train/ --valid eeg/valid/ --init 44khz --sfreq 512 \
#           --out eeg-dac.pt --steps 10000 --steps-per-epoch 100 --minutes 720 --device cuda
#
# Rerun the same command with ``--resume --overwrite`` to continue an interrupted run
# from its last epoch (``--steps`` counts all steps, resumed ones included; raise it
# to train longer). Other starting points: ``--init path/to/weights.pth`` (a DAC
# checkpoint, here pre-pruned to 4 codebooks with ``--n-codebooks 4``) or
# ``--init eeg-dac.pt`` (continue an mne-dac codec), and the from-scratch baseline:
#
# .. code-block:: console
#
#     $ mne-dac finetune eeg/train/ --valid eeg/valid/ --init scratch --n-codebooks 9 \
#           --codebook-size 1024 --sfreq 512 --out eeg-scratch.pt --steps 10000
#
# The equivalent of this tutorial's run, on folders holding the training and
# validation files (for the raw eegmat EDF files, add ``--exclude "ECG ECG" "EEG A2-A1"``
# to skip the channels that EDF types as EEG but are not):
cli = (
    f"mne-dac finetune eeg/ --init scratch --encoder-dim {architecture['encoder_dim']} "
    f"--decoder-dim {architecture['decoder_dim']} --crop {crop:g} --batch-size {batch_size} "
    f"--steps {epochs * steps_per_epoch} --steps-per-epoch {steps_per_epoch} --gan-epochs 1 --gan-periods 2 3 "
    f"--lr 3e-4 --valid eeg-valid/ --valid-crops {valid_crops} --out eeg-tutorial.pt"
)
print(cli)
