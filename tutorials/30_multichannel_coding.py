"""
.. _tut-multichannel:

Multi-channel coding: DAC-SC versus DAC-MC
==========================================

DAC-SC codes every EEG channel on its own. DAC-MC (Kastrati et al., 2025) codes a
group of neighbouring channels jointly: every channel is encoded by DAC's encoder,
self-attention mixes the channels frame by frame, DAC's quantizer codes the result
and a decoder conditioned on each channel's position reconstructs every channel.

This tutorial shows the channel groups, builds a DAC-MC codec from the shipped DAC-SC
codec, and compares the shipped DAC-SC and DAC-MC codecs on the same recording at equal
bits per second.
"""

# %%
import os

import matplotlib.pyplot as plt

import mne_dac
from mne_dac.codecs.mc_codec import DACMCCodec
from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.signal.groups import make_groups, plot_group_probabilities
from mne_dac.signal.metrics import fidelity_report

fast = os.environ.get("MNE_DAC_FAST") == "1"  # the test suite runs a shorter version
raw = read_excerpt(1, "arithmetic", verbose=False).crop(0, 10 if fast else 30, include_tmax=False)
raw.pick("eeg")
print(raw.ch_names)

# %%
# Channel groups
# --------------
# In training, a group is drawn around a random pivot electrode: the other channels
# are drawn one by one, with probability decreasing with their angular distance from
# the pivot on the head (by default :func:`~mne_dac.signal.groups.exponential_weights`,
# ``exp(-d / 0.5 rad)``; pass any ``weight_fn``). The probability that each electrode
# is the first drawn around Cz:
fig = plot_group_probabilities("Cz", show=False)

# %%
# At inference the montage is partitioned deterministically: anatomically (frontal,
# central, parietal, occipital, left and right temporal), or greedily around pivots,
# ``k`` neighbours at a time. The grouping is stored with the tokens.
for method in ("anatomical", "pivot"):
    groups = make_groups(raw.ch_names, grouping=method, group_size=4)
    print(method, [list(g) for g in groups.groups])

# %%
# A DAC-MC codec from a DAC-SC codec
# ----------------------------------
# :meth:`~mne_dac.codecs.mc_codec.DACMCCodec.from_codec` wraps a copy of a DAC-SC model.
# Its attention and FiLM layers start as the identity, so in the ``"channel"`` layout
# (a token stream per channel) it codes exactly as the DAC-SC codec until trained. The shipped
# DAC-SC codec works at 256 Hz, 2 frames per second, with 8 codebooks of 2048 entries, and codes
# with 4 of them by default: 22 bits/s per channel and codebook.
sc = mne_dac.load_codec("default")
mc = DACMCCodec.from_codec(sc, layout="channel", grouping="anatomical")
tokens_sc = mne_dac.tokenize_raw(raw, sc)
tokens_mc = mne_dac.tokenize_raw(raw, mc)
print(tokens_mc)
print("Same codes as DAC-SC:", (tokens_sc.codes == tokens_mc.codes).all())

# %%
# In the ``"group"`` layout a group of ``k`` channels shares one token stream: with
# groups of 4, DAC-MC spends a quarter of the bits per channel of DAC-SC with as many
# codebooks, so it needs 4 times the codebooks for the same rate. How the group's channels
# become one latent is its ``pooling``: their mean (``"mean"``), or each channel in its own
# slot of the latent (``"slots"``, groups of at most ``n_slots`` channels), so that the
# quantizer codes the channels jointly. Either must be trained or fitted before use
# (``mne-dac finetune DATA --model mc`` fits slots as the shipped ``mc-pivot`` was;
# ``--init scratch --model mc --layout group --pooling slots`` trains them by gradient; see
# :ref:`tut-finetune`).
mc_group = DACMCCodec.from_codec(sc, layout="group", pooling="slots", n_slots=4, grouping="pivot", group_size=4)
tokens_group = mne_dac.tokenize_raw(raw, mc_group)
print(tokens_group)

# %%
# Comparing at equal bits per second
# ----------------------------------
# mne-dac ships a DAC-MC codec in the ``"group"`` layout with slots, ``"mc-pivot"``: that
# DAC-SC architecture set to a linear code of pivot groups of 4 channels, whose codebooks code
# what a group's channels share first and then what is each one's own (see :ref:`sc-vs-mc`). It
# codes this montage in 5 pivot groups: its 8 codebooks cost 352 × 5 / 19 = 92.6 bits/s per
# channel and 4 of them 46.3, against 88 and 44 for DAC-SC with 4 and 2. The block DCT of the
# channels' principal components (KLT + DCT), the classic cross-channel coder, is the reference.
# Score each against the original. Each codec is decoded alone (``restore_bands=False``): tokens carry
# band gains for their full depth only, and here they are decoded at several.
from mne_dac.signal.transform_coding import CrossChannelDCTCoder

mc_trained = mne_dac.load_codec("mc-pivot")
tokens_trained = mne_dac.tokenize_raw(raw, mc_trained, restore_bands=False)
per_codebook = tokens_trained.bits_per_second / mc_trained.n_codebooks
klt_dct, coded = CrossChannelDCTCoder(sc.bits_per_second(4), sc.sfreq).code_raw(raw, sc.preprocessing)
rows = {
    "DAC-SC, 2 codebooks": (mne_dac.reconstruct_raw(tokens_sc, sc, n_codebooks=2), sc.bits_per_second(2)),
    "DAC-SC, 4 codebooks": (mne_dac.reconstruct_raw(tokens_sc, sc, restore_bands=False), sc.bits_per_second(4)),
    "DAC-MC mc-pivot, 4 codebooks": (
        mne_dac.reconstruct_raw(tokens_trained, mc_trained, n_codebooks=4),
        4 * per_codebook,
    ),
    "DAC-MC mc-pivot, 8 codebooks": (mne_dac.reconstruct_raw(tokens_trained, mc_trained), 8 * per_codebook),
    "KLT + DCT": (klt_dct, coded.bits_per_second),
}
for name, (rec, bitrate) in rows.items():
    overall = fidelity_report(raw, rec).overall
    print(f"{name:30s} {bitrate:5.1f} bits/s  PRD {overall['prd']:.0f} %  beta error {overall['err_beta']:.2f}")

# %%
# Overlay a few seconds of one channel: the original and the reconstructions at about
# 90 bits/s per channel.
ch = "Cz"
fig, ax = plt.subplots(figsize=(8, 3), layout="constrained")
times = raw.times[: int(5 * raw.info["sfreq"])]
ax.plot(times, 1e6 * raw.get_data(picks=ch)[0, : len(times)], color="k", lw=1, label="original")
for name in ("DAC-SC, 4 codebooks", "DAC-MC mc-pivot, 8 codebooks", "KLT + DCT"):
    rec = rows[name][0]
    ax.plot(times, 1e6 * rec.get_data(picks=ch)[0, : len(times)], lw=1, label=name)
ax.set(xlabel="Time (s)", ylabel=f"{ch} (µV)")
ax.legend(loc="upper right", fontsize="small")

# %%
# Averaged over eegmat's validation subjects (see :ref:`sc-vs-mc`), the DAC-MC codec keeps
# the waveform better than DAC-SC at equal bits per channel (PRD 29.0 against 32.1 % at about
# 90 bits/s for ``beam-2026.12``, 31.7 % for today's default; 42.8 against 50.9 % at about 45) and better than the block DCT of each channel
# (31.2 %). The KLT + DCT of all 19 channels keeps it best (22.5 %), and ``.eegdac`` files can
# hold it (``mne_dac.write_raw_dac(fname, raw, codec="klt-dct")``), or the shipped codec on the
# principal components (``codec="klt-codec"``, 21.1 % at 88 bits/s). In the paper DAC-MC helps
# epilepsy detection (TUEP) but not abnormality detection (TUAB): check your task on your data.
plt.show()
