"""The benchmark scripts, end to end on the shipped data with a tiny codec."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_tiny_codec

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str) -> str:
    """Run a benchmark script in a fresh process; return what it printed."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def rate_quality_json(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rate_quality")
    codec = make_tiny_codec(n_codebooks=3)
    codec.save(out / "tiny.pt")
    printed = run_script(
        "rate_quality.py",
        *("--codec", str(out / "tiny.pt"), "--data", str(out / "no-eegmat-here"), "--seconds", "5"),
        *("--depths", "1", "3", "--threads", "1", "--out-dir", str(out)),
    )
    assert "| flac | EDF samples (bit-exact) |" in printed and "token entropy" in printed
    for metric in ("spectrogram_loss", "prd", "snr_db", "band_error"):
        assert (out / f"rate_quality_{metric}.png").is_file()
    return out / "rate_quality.json"


def test_rate_quality_script(rate_quality_json):
    results = json.loads(rate_quality_json.read_text())
    assert results and (rate_quality_json.parent / "rate_quality.md").is_file()


def test_throughput_script_prints_codec_versus_baselines(rate_quality_json, tmp_path):
    printed = run_script(
        "codec_throughput.py",
        *("--codec", "tiny", "--seconds", "10", "--repeats", "1", "--hours", "0.005", "--force"),
        *("--threads", "1", "--rate-quality", str(rate_quality_json), "--out-dir", str(tmp_path)),
    )
    assert "DAC.compress / DAC.decompress, same model" in printed
    assert "**Codec against baselines**" in printed and "| flac (0.1 µV step) |" in printed
    assert "| 21 ch × 0.005 h |" in printed  # the memory run was made
    speed = json.loads((tmp_path / "speed.json").read_text())
    assert speed["memory"][0]["compress"]["peak_rss_mb"] > 0
    assert {"speed.md", "summary.md"} <= {p.name for p in tmp_path.iterdir()}


def test_file_coding_script(tmp_path):
    """benchmarks/file_coding.py on the shipped excerpt (subject 0): tokens at two depths, the codec within a rate,
    the block DCT at their files' bits, and KLT + DCT files side by side (and no other coder: ``--coders``)."""
    from mne_dac.evaluation.datasets import excerpt_fnames

    data = excerpt_fnames(0, "rest")[0].parent
    printed = run_script(
        "file_coding.py",
        *("--data", str(data), "--subjects", "0", "--seconds", "6", "--rates", "88", "--codec-rates", "30"),
        *("--threads", "1"),
        *("--out-dir", str(tmp_path), "--coders", "default codec", "KLT + DCT", "--plot"),
    )
    assert "| default codec, 4 codebooks | 88 / " in printed and "| KLT + DCT, 88 bits/s | 88 / " in printed
    assert "KLT + codec" not in printed  # --coders: only the coders asked for
    assert "| block DCT at the bits of the 4-codebook file |" in printed  # the DCT at each token file's bits
    assert "| default codec within 30 bits/s | 30 / " in printed
    assert "| block DCT at the bits of the 30-bits/s file |" in printed
    mean = json.loads((tmp_path / "file_coding.json").read_text())["mean"]
    prd = {row["coder"]: row["prd"] for row in mean}
    assert prd["default codec, 4 codebooks"] < prd["default codec, 2 codebooks"] < 100
    assert 0 < prd["KLT + DCT, 88 bits/s"] < 100
    assert (tmp_path / "file_coding.png").stat().st_size > 0


def test_coding_levels_script():
    """benchmarks/coding_levels.py on the shipped excerpt: files of the codec and its tokens at the recording's or
    each channel's level code EEG thirty times as loud as well as the original; its tokens with the paper's fixed
    scaling do not."""
    from mne_dac.evaluation.datasets import excerpt_fnames

    data = excerpt_fnames(0, "rest")[0].parent
    printed = run_script(
        "coding_levels.py",
        *("--data", str(data), "--subjects", "0", "--seconds", "5", "--levels", "1", "30", "--threads", "1"),
    )
    rows = {line.split("|")[1].strip(): [float(v) for v in line.split("|")[2:-1]]
            for line in printed.splitlines() if line.startswith("| ") and "PRD" not in line}  # fmt: skip
    assert set(rows) == {"tokens, 2 codebooks", "tokens, 2 codebooks, clip at the recording's level",
                         "tokens, 2 codebooks, each channel's level", "file within 44 bits/s",
                         "klt-codec file, 44 bits/s", "block DCT, 44 bits/s"}  # fmt: skip
    for coder in (
        "file within 44 bits/s",
        "klt-codec file, 44 bits/s",
        "tokens, 2 codebooks, clip at the recording's level",
        "tokens, 2 codebooks, each channel's level",
    ):
        assert abs(rows[coder][1] - rows[coder][0]) < 3, rows
    assert rows["tokens, 2 codebooks"][1] > rows["tokens, 2 codebooks"][0] + 10  # clipped at ±200 µV


def test_fixed_rate_script():
    """benchmarks/fixed_rate.py on the shipped excerpt: a step per block of the codec's hop costs the block DCT PRD."""
    from mne_dac.evaluation.datasets import excerpt_fnames

    data = excerpt_fnames(0, "rest")[0].parent
    printed = run_script(
        "fixed_rate.py", *("--data", str(data), "--subjects", "0", "--seconds", "6", "--rates", "88", "--threads", "1")
    )
    prd = {tuple(cell.strip() for cell in line.split("|")[1:3]): float(line.split("|")[3]) for line in printed.splitlines()
           if line.startswith("| ") and "bits spent" not in line}  # fmt: skip
    assert len(prd) == 12 and all(0 < p < 100 for p in prd.values())
    dct = "block DCT, 0.5-s blocks, Laplacian entropy coder"  # the default codec's hop: 128 samples at 256 Hz
    assert prd[dct, "a step per block (fixed rate)"] > prd[dct, "one step (variable rate)"]
    assert ("codec", "depth per channel and 2 s, codes coded adaptively") in prd
    assert ("codec", "depth per channel and 2 s, each depth searched for itself, codes at 11 bits") in prd


def test_linear_code_script_groups(tmp_path):
    """benchmarks/linear_code.py --group-size: a DAC-MC with slots that codes pivot groups as the joint code it fitted."""
    import mne_dac
    from mne_dac.codecs.mc_codec import DACMCCodec
    from mne_dac.evaluation.datasets import excerpt_fnames, read_excerpt
    from mne_dac.signal.preprocessing import to_codec_domain

    printed = run_script(
        "linear_code.py", str(tmp_path / "mc.pt"), "--group-size", "4", "--n-codebooks", "3",
        *("--data", str(excerpt_fnames(0, "rest")[0].parent), "--subjects", "0", "1", "--max-frames", "3000"),
        *("--decoder-steps", "1", "--threads", "1"),
    )  # fmt: skip
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if "after each codebook" in line)
    prds = [float(p) for p in lines[header + 1].split()]
    assert len(prds) == 3 and prds == sorted(prds, reverse=True)
    codec = mne_dac.load_codec(tmp_path / "mc.pt")
    assert isinstance(codec, DACMCCodec) and codec.model.pooling == "slots" and codec.group_size == 4
    raw = read_excerpt(0, "rest", verbose=False).pick("eeg")
    x = to_codec_domain(raw.get_data(), raw.info["sfreq"], codec.sfreq, codec.preprocessing).data
    names = raw.ch_names
    error = x - codec.decode(codec.encode(x, ch_names=names), ch_names=names, n_samples=x.shape[1])
    assert 100 * np.sqrt((error**2).sum() / (x**2).sum()) < 1.5 * prds[-1]


def test_prediction_limit_script():
    """benchmarks/prediction_limit.py on 10 s of eegmmidb: the oracle's rate falls as the bound grows."""
    printed = run_script("prediction_limit.py", "--seconds", "10", "--bounds", "0", "0.5", "1", "5")
    rates = [
        float(line.split("|")[3]) for line in printed.splitlines() if line.startswith("| ") and "bound" not in line
    ]
    assert len(rates) == 4 and rates[0] == rates[1] > rates[2] > rates[3]  # whole µV: 0.5 µV keeps them as they are
