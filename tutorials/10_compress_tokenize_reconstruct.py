"""
.. _tut-compress:

==========================================================
Compress, tokenize and reconstruct an EEG recording
==========================================================

This tutorial takes one minute of real resting EEG shipped with mne-dac, turns it into
DAC tokens, rebuilds it, stores it as a compressed ``.eegdac`` file, and measures what
the compression kept.

The codec sees EEG the way the paper prepares it: resampled to 512 Hz, high-passed at
0.1 Hz, clipped to ±200 µV and scaled to [-1, 1], one channel at a time.
"""

# %%
# Load the recording
# ------------------
# The excerpt is the first minute of subject 0 at rest from PhysioNet's "EEG During
# Mental Arithmetic Tasks" (ODC-By). Data are in Volts, as everywhere in MNE.

import os

import mne_dac
from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.signal.metrics import fidelity_report
from mne_dac.signal.viz import plot_fidelity

FAST = os.environ.get("MNE_DAC_FAST") == "1"  # the gallery's tests run on 20 s

raw = read_excerpt(subject=0, task="rest")
raw.pick("eeg")
if FAST:
    raw.crop(0, 20, include_tmax=False)
print(raw)

# %%
# Load a codec
# ------------
# ``"default"`` is the compact codec shipped with mne-dac. Other sources are DAC's
# audio models (``"44khz"``, fetched through DAC's own cache), a ``weights.pth``
# checkpoint, or ``"random"``. The default works at 256 Hz with frames of 128 samples: 2 frames
# per second, each coded by 4 codebooks of 2048 entries (11 bits each) unless more are asked
# for: it has 8 (``n_codebooks``), and codes with 4 by default (``default_n_codebooks``).
codec = mne_dac.load_codec("default", device="cpu")
print(codec)
print(f"{codec.frame_rate:g} frame/s, {codec.bits_per_second():g} bits/s per channel")

# %%
# Tokenize
# --------
# :func:`mne_dac.tokenize_raw` returns an :class:`mne_dac.EEGTokens`: integer codes of
# shape ``(n_channels, n_codebooks, n_frames)`` plus everything needed to rebuild the
# recording. The number of codebooks sets the bitrate. The tokens also carry, for each 16-s
# block and channel, a gain per delta, theta, alpha and beta band that gives back at least 90 %
# of the band's power where the codec's decode kept less (the codec loses most beta power):
# 20 bits a block and channel, 1.3 bits/s per channel (``restore_bands=False``: the codes alone).
tokens = mne_dac.tokenize_raw(raw, codec)
print(tokens)
print("codes:", tokens.codes.shape, tokens.codes.dtype)
print("first second of Cz:", tokens.codes[raw.ch_names.index("Cz"), :, : int(codec.frame_rate)])
print("clipped samples per channel:", dict(zip(tokens.ch_names, tokens.clip_counts)))

# %%
# Reconstruct
# -----------
# The reconstruction is an :class:`mne.io.Raw` with the original channel names, sampling
# rate, number of samples, measurement date, montage and annotations.
recon = mne_dac.reconstruct_raw(tokens, codec)
print(recon)
assert recon.ch_names == raw.ch_names and recon.n_times == raw.n_times

# %%
# Fewer codebooks, fewer bits
# ---------------------------
# Residual codebooks are nested: decoding only the first ones gives a coarser
# reconstruction at a lower bitrate, from the same tokens. Tokens made with all 8 codebooks
# decode at any depth, up to 176 bits/s per channel; below 8 without the band gains, which
# were measured on the decode of all 8.
tokens = mne_dac.tokenize_raw(raw, codec, n_codebooks=codec.n_codebooks, verbose="error")
for n_q in range(1, codec.n_codebooks + 1):
    coarse = mne_dac.reconstruct_raw(tokens, codec, n_codebooks=n_q, verbose="error")
    report = fidelity_report(raw, coarse)
    print(
        f"{n_q} codebooks, {codec.bits_per_second(n_q):g} bits/s: "
        f"spectrogram loss {report.overall['spectrogram_loss']:.2f}, "
        f"PRD {report.overall['prd']:.0f} %"
    )

# %%
# Compress to a file
# ------------------
# ``.eegdac`` files hold the entropy-coded codes, the measurement info, annotations,
# preprocessing settings, clip counts and the codec's identity; they are checksummed. Each
# 16-s block also stores the band gains that tokens carry (``restore_bands=False`` keeps the
# codec's decode as it is). The same is
# available from the command line as ``mne-dac compress recording.edf recording.eegdac``.
import tempfile
from pathlib import Path

fname = Path(tempfile.mkdtemp()) / "sub-00_rest.eegdac"
mne_dac.write_raw_dac(fname, raw, codec=codec)
size_16bit = 2 * len(raw.ch_names) * raw.n_times
print(f"{fname.stat().st_size:,} bytes instead of {size_16bit:,} as 16-bit samples")
recon_file = mne_dac.read_raw_dac(fname, codec=codec)

# %%
# What was kept
# -------------
# The fidelity report gives the paper's spectrogram loss (DAC's multi-scale mel loss,
# computed at the codec rate on [-1, 1] signals), the percent root-mean-square
# difference (PRD), the SNR and the relative error of the power in the classic bands.
report = fidelity_report(raw, recon_file)
print(report)

# %%
# Look at it: a few channels overlaid, and the power spectra.
fig = plot_fidelity(raw, recon_file, duration=5.0, show=False)

# %%
# A file that keeps more: a code of the principal components
# ------------------------------------------------------------
# The codec's tokens code each channel alone, with the same codebooks every second, yet EEG
# channels share much of their signal and its energy comes and goes. A file can hold instead a
# code of the channels' principal components within a budget of bits: ``codec="klt-codec"``
# codes them with the shipped ``"linear"`` codec, each component's depth chosen per second;
# ``codec="klt-dct"`` with the block DCT (on the command line ``mne-dac compress
# recording.edf recording.eegdac --codec klt-codec --bitrate 88``). At the same bits both keep
# the waveform far better than the tokens, and each 64-s block keeps at least 90 % of its
# channels' delta, theta, alpha and beta power by a gain per band (``restore_bands=False``
# decodes to the least squared error instead; docs page *Benchmarks*). Compare the three files at 88 bits/s per channel.
recons = {"codec tokens": recon_file}
for method in ("klt-codec", "klt-dct"):
    method_fname = fname.with_name(f"sub-00_rest_{method}.eegdac")
    mne_dac.write_raw_dac(method_fname, raw, codec=method, bits_per_second=codec.bits_per_second())
    recons[method] = mne_dac.read_raw_dac(method_fname)
for label, reconstruction in recons.items():
    overall = fidelity_report(raw, reconstruction, verbose="error").overall
    print(f"{label:>12}: PRD {overall['prd']:.0f} %, beta-band power error {overall['err_beta']:.2f}")

# %%
# Spend encoding time for a smaller error: the encoder search
# -----------------------------------------------------------
# DAC's quantizer takes, codebook after codebook, the entry nearest the encoder's output. With
# ``search=N`` the encoder also tries the ``N`` nearest entries of the first codebook and, for
# each, the ``N`` nearest of the second, and keeps the codes whose *decoded* EEG is nearest the
# recording. The bits, the decoder and the files stay the same; encoding takes 20
# (``search=2``) to 80 (``search=4``) times longer. Here on 20 s of the recording; on the
# command line ``mne-dac compress recording.edf recording.eegdac --search 4``. The error is
# measured against the recording high-passed as the codec's preprocessing does (4th-order
# Butterworth, zero phase), so that it counts the coding alone.
short = raw.copy().crop(0, 5 if FAST else 20, include_tmax=False)
butterworth = dict(order=4, ftype="butter", output="sos")
high_passed = short.copy().filter(
    codec.preprocessing.highpass, None, method="iir", iir_params=butterworth, verbose="error"
)
searching = mne_dac.load_codec("default", device="cpu", search=4)
for label, encoder in (("nearest entries", codec), ("search=4", searching)):
    recon_short = mne_dac.reconstruct_raw(mne_dac.tokenize_raw(short, encoder, verbose="error"), codec, verbose="error")
    print(f"{label:>15}: PRD {fidelity_report(high_passed, recon_short, verbose='error').overall['prd']:.1f} %")
