"""
.. _tut-error-bound:

=================================================
Archive EEG with a guaranteed error bound
=================================================

A lossy codec's error is a statistic: "PRD 38 % on average" says nothing about the sample a
clinician will look at. For archiving, mne-dac adds a **residual layer** to the tokens: every
EEG sample of the file is within a bound you choose of the original, at the recording's own
rate, or bit-exact. The tokens stay the base layer, quick to preview, search and classify; or,
for the smallest archive, the KLT + DCT of the channels is the base.

This tutorial compresses one minute of real EEG (an EDF file shipped with mne-dac) at
several bounds, checks the bound on every sample, and compares the sizes with FLAC of the
16-bit samples, the usual lossless archive.
"""

# %%
# The recording and the lossless baseline
# ---------------------------------------
# The excerpt is the first minute of subject 0 at rest from PhysioNet's "EEG During Mental
# Arithmetic Tasks" (ODC-By), read from its EDF file: its samples are 16-bit integers times
# each channel's calibration. FLAC of those integers is the lossless reference.

import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mne
import numpy as np

import mne_dac
from mne_dac.evaluation.baselines import LosslessCoder
from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.io.container import describe_file, read_grids, read_header
from mne_dac.io.raw import save_reconstruction
from mne_dac.io.side_channels import reader_grids

raw = read_excerpt(subject=0, task="rest").pick("eeg")
if os.environ.get("MNE_DAC_FAST"):  # the gallery's tests run on 8 s
    raw.crop(0, 8, include_tmax=False)
original = raw.get_data()
n_channels, seconds = len(raw.ch_names), raw.duration

integers = np.stack([grid.integers(x) for grid, x in zip(reader_grids(raw, range(n_channels)), original)])
flac = LosslessCoder("flac").encode(integers.astype(np.int16), raw.info["sfreq"])
flac_rate = flac.n_bits / seconds / n_channels
print(f"FLAC of the 16-bit samples: {flac_rate:.0f} bits/s per channel")

# %%
# Compress with a bound
# ---------------------
# ``max_error`` is in Volts, as everywhere in MNE (``mne-dac compress --max-error`` takes
# µV). ``0`` means bit-exact. The reader checks nothing: the writer checked the bound on
# every sample, as the reader will compute it.
codec = mne_dac.load_codec("default")
folder = Path(tempfile.mkdtemp())
rates = {}
for bound_uv in (0, 0.5, 1, 5):
    fname = mne_dac.write_raw_dac(folder / f"rec_{bound_uv:g}uV.eegdac", raw, codec=codec, max_error=bound_uv * 1e-6,
                                  verbose="error")  # fmt: skip
    header = read_header(fname)
    decoded = mne_dac.read_raw_dac(fname, codec, verbose="error").get_data()
    error = np.abs(decoded - original).max()
    assert error <= bound_uv * 1e-6  # on every sample
    rates[bound_uv] = 8 * (header.token_bytes + header.residual_bytes) / seconds / n_channels
    exact = " (bit-exact)" if bound_uv == 0 and np.array_equal(decoded, original) else ""
    print(f"bound {bound_uv:g} µV: largest error {error * 1e6:.3f} µV{exact}; {rates[bound_uv]:.0f} bits/s per "
          f"channel, {rates[bound_uv] / flac_rate:.2f} of FLAC's size")  # fmt: skip

# %%
# A better base: the KLT + DCT
# ----------------------------
# The residual costs less the closer the base is to the signal. A file can use, instead of the
# codec's tokens, the block DCT of the channels' principal components as its base
# (``codec="klt-dct"``; ``mne-dac compress --codec klt-dct --max-error 1``). Its rate is chosen
# per file: the one that makes three 16-s excerpts of it smallest, base and residual together. On a noisy
# clinical recording that is the smallest base, where the signal is better predicted from
# itself.
klt_rates = {}
for bound_uv in (0, 0.5, 1, 5):
    fname = mne_dac.write_raw_dac(folder / f"klt_{bound_uv:g}uV.eegdac", raw, codec="klt-dct",
                                  max_error=bound_uv * 1e-6, verbose="error")  # fmt: skip
    header = read_header(fname)
    decoded = mne_dac.read_raw_dac(fname, verbose="error").get_data()
    assert np.abs(decoded - original).max() <= bound_uv * 1e-6
    bits = 8 * (header.token_bytes + header.residual_bytes) + 16 * header.transform.directions.size
    klt_rates[bound_uv] = bits / seconds / n_channels
    print(f"bound {bound_uv:g} µV: base at {header.bits_per_second:g} bits/s, {klt_rates[bound_uv]:.0f} bits/s per "
          f"channel in all, {klt_rates[bound_uv] / flac_rate:.2f} of FLAC's size (tokens: "
          f"{rates[bound_uv] / flac_rate:.2f})")  # fmt: skip

# %%
# What the file holds
# -------------------
# ``mne-dac info`` (:func:`~mne_dac.io.container.describe_file`) shows each layer's size and
# the guarantee.
print(describe_file(folder / "rec_1uV.eegdac"))

# %%
# Back to EDF, bit for bit
# ------------------------
# A bit-exact file records the calibration each channel was read with, so it decompresses to an
# EDF whose samples MNE reads back exactly as they were (``mne-dac decompress rec.eegdac
# rec.edf`` does the same).
exact_file = folder / "klt_0uV.eegdac"
save_reconstruction(mne_dac.read_raw_dac(exact_file, verbose="error"), folder / "back.edf", exact=True,
                    grids=read_grids(exact_file))  # fmt: skip
back = mne.io.read_raw_edf(folder / "back.edf", verbose="error").get_data()[:, : raw.n_times]
print(f"EDF written back bit for bit: {np.array_equal(back, original)}")

# %%
# Layers read apart
# -----------------
# ``layer="tokens"`` decodes the lossy base only: no residual is read. Time ranges work for
# both layers, block by block.
tokens_only = mne_dac.read_raw_dac(folder / "rec_1uV.eegdac", codec, layer="tokens", verbose="error")
bounded = mne_dac.read_raw_dac(folder / "rec_1uV.eegdac", codec, tmin=5, tmax=7, verbose="error")
channel = raw.ch_names.index("Cz")
start, stop = int(5 * raw.info["sfreq"]), int(7 * raw.info["sfreq"]) + 1
times = raw.times[start:stop]
fig, axes = plt.subplots(2, 1, sharex=True, figsize=(8, 5), layout="constrained")
axes[0].plot(times, original[channel, start:stop] * 1e6, "k", lw=1, label="original")
axes[0].plot(times, tokens_only.get_data()[channel, start:stop] * 1e6, lw=1, label="tokens only (lossy)")
axes[0].set(ylabel="Cz (µV)")
axes[0].legend(loc="upper right")
axes[1].plot(times, (bounded.get_data()[channel] - original[channel, start:stop]) * 1e6, lw=1)
axes[1].axhline(1, color="r", ls="--")
axes[1].axhline(-1, color="r", ls="--")
axes[1].set(xlabel="time (s)", ylabel="error with the residual (µV)", ylim=(-1.5, 1.5))

# %%
# Rate against bound
# ------------------
# The larger the bound, the fewer bits. The benchmark ``benchmarks/residual_bound.py``
# draws this curve on eegmat's validation subjects against FLAC of the quantised signal and
# a JPEG-LS-style coder (docs page *Benchmarks*).
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
positive = [b for b in rates if b > 0]
ax.plot(positive, [rates[b] for b in positive], "o-", label="mne-dac: tokens + residual")
ax.plot(positive, [klt_rates[b] for b in positive], "D-", label="mne-dac: KLT + DCT + residual")
ax.axhline(flac_rate, color="k", lw=1, label="FLAC lossless")
ax.axhline(rates[0], color="C0", ls=":", label="mne-dac bit-exact")
ax.set(xscale="log", xlabel="bound on every sample (µV)", ylabel="bits/s per channel")
ax.legend()
plt.show()
