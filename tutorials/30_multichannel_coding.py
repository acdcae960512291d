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
# DAC-MC codec was trained from the release ``default-2026.11`` (DAC's hop of 512 at 512 Hz, 9
# codebooks of 1024 entries), so this tutorial starts from that one.
sc = mne_dac.load_codec("default-2026.11")
mc = DACMCCodec.from_codec(sc, layout="channel", grouping="anatomical")
tokens_sc = mne_dac.tokenize_raw(raw, sc)
tokens_mc = mne_dac.tokenize_raw(raw, mc)
print(tokens_mc)
print("Same codes as DAC-SC:", (tokens_sc.codes == tokens_mc.codes).all())

# %%
# In the ``"group"`` layout a group of ``k`` channels shares one token stream: with
# groups of 4, DAC-MC at 9 codebooks costs 22.5 bits/s per channel, the bitrate of
# DAC-SC with between 2 and 3 codebooks. Such a codec must be trained
# (``mne-dac finetune DATA --model mc --layout group``, see
# :ref:`tut-finetune`); untrained, its group stream carries the channels' mean.
mc_group = DACMCCodec.from_codec(sc, layout="group", grouping="pivot", group_size=4)
tokens_group = mne_dac.tokenize_raw(raw, mc_group)
print(tokens_group)

# %%
# Comparing at equal bits per second
# ----------------------------------
# mne-dac ships a DAC-MC codec in the ``"group"`` layout, ``"mc-pivot"``: that DAC-SC codec
# continued for 200 steps on random-pivot groups of 4 channels (see
# :ref:`sc-vs-mc`). It codes this montage in 5 pivot groups: all 9 codebooks cost
# 90 × 5 / 19 = 23.7 bits/s per channel, between DAC-SC with 2 (20 bits/s) and 3
# (30 bits/s) codebooks. Reconstruct with all three and score them against the original.
mc_trained = mne_dac.load_codec("mc-pivot")
tokens_trained = mne_dac.tokenize_raw(raw, mc_trained)
rows = {
    "DAC-SC, 2 codebooks": (mne_dac.reconstruct_raw(tokens_sc, sc, n_codebooks=2), sc.bits_per_second(2)),
    "DAC-SC, 3 codebooks": (mne_dac.reconstruct_raw(tokens_sc, sc, n_codebooks=3), sc.bits_per_second(3)),
    "DAC-MC mc-pivot, 9 codebooks": (mne_dac.reconstruct_raw(tokens_trained, mc_trained), tokens_trained.bits_per_second),
}
for name, (rec, bitrate) in rows.items():
    overall = fidelity_report(raw, rec).overall
    print(
        f"{name:30s} {bitrate:5.1f} bits/s  spectrogram loss {overall['spectrogram_loss']:.2f}  "
        f"PRD {overall['prd']:.0f} %"
    )

# %%
# Overlay a few seconds of one channel: the original and both reconstructions at about
# the same bitrate.
ch = "Cz"
fig, ax = plt.subplots(figsize=(8, 3), layout="constrained")
times = raw.times[: int(5 * raw.info["sfreq"])]
ax.plot(times, 1e6 * raw.get_data(picks=ch)[0, : len(times)], color="k", lw=1, label="original")
for name in ("DAC-SC, 2 codebooks", "DAC-MC mc-pivot, 9 codebooks"):
    rec = rows[name][0]
    ax.plot(times, 1e6 * rec.get_data(picks=ch)[0, : len(times)], lw=1, label=name)
ax.set(xlabel="Time (s)", ylabel=f"{ch} (µV)")
ax.legend(loc="upper right", fontsize="small")

# %%
# Averaged over eegmat's validation subjects, the trained DAC-MC codec has a lower
# spectrogram loss than DAC-SC at about the same bits/s (5.3 against 5.7), but DAC-SC keeps
# the waveform much better (PRD 79 % against 105 %), and a classifier trained on DAC-MC's
# reconstructions separates rest from arithmetic better (see :ref:`sc-vs-mc`). On one
# short recording, as here, the spectrogram losses can come out the other way round;
# 200 steps of CPU training are also far from the paper's budget. The same
# comparison after training both codecs on your data (``mne-dac finetune`` with
# ``--model sc`` and ``--model mc``, same data and budget) tells which one to use: in the
# paper DAC-MC helps epilepsy detection (TUEP) but not abnormality detection (TUAB).
plt.show()
