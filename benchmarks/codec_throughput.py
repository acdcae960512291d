"""Throughput, peak memory and compression ratio of DAC-SC on real EEG.

Prints, for each codec size, channel-seconds encoded and decoded per second, and the
peak resident memory of a whole compress → decompress of a long 21-channel recording
(synthesised by tiling the shipped eegmat excerpt). Every measurement runs in a fresh
process, so peak memory is that of the job alone.

Usage::

    python benchmarks/codec_throughput.py                  # defaults below
    python benchmarks/codec_throughput.py --hours 1 --device cuda
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

#: Codec sizes: ``dac.DAC`` arguments (full = DAC's 44 kHz architecture, 76.7 M parameters).
SIZES = {
    "full": dict(encoder_dim=64, decoder_dim=1536),
    "compact": dict(encoder_dim=16, decoder_dim=128),
    "tiny": dict(encoder_dim=4, decoder_dim=16),
}

_JOB = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
import mne, numpy as np
import mne_dac
from mne_dac.datasets import read_excerpt

size, seconds, device, batch_size = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
dac_kwargs = json.loads(sys.argv[5])
mne.set_log_level("error")
base = read_excerpt(0, "rest")
base.set_channel_types({"ECG": "eeg", "A2-A1": "eeg"})  # 21 coded channels, as in eegmat's EDF
reps = int(np.ceil(seconds / base.duration))
data = np.tile(base.get_data(), reps)[:, : int(seconds * base.info["sfreq"])]
raw = mne.io.RawArray(data, base.info)
del data
codec = mne_dac.load_codec("random", dac_kwargs=dac_kwargs, device=device, batch_size=batch_size)
out = Path(tempfile.mkdtemp()) / "long.eegdac"
mne_dac.write_raw_dac(out, raw.copy().crop(0, 2), codec=codec)  # warm-up: imports, first calls
out.unlink()
t0 = time.perf_counter()
mne_dac.write_raw_dac(out, raw, codec=codec)
t_enc = time.perf_counter() - t0
t0 = time.perf_counter()
recon = mne_dac.read_raw_dac(out, codec=codec)
t_dec = time.perf_counter() - t0
ch_s = len(raw.ch_names) * raw.duration
print(json.dumps(dict(
    size=size, seconds=seconds, n_channels=len(raw.ch_names),
    n_params=sum(p.numel() for p in codec.model.parameters()),
    encode_ch_s_per_s=ch_s / t_enc, decode_ch_s_per_s=ch_s / t_dec,
    peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    data_mb=raw.get_data().nbytes / 2**20,
    file_bytes=out.stat().st_size, ratio_16bit=2 * len(raw.ch_names) * raw.n_times / out.stat().st_size,
)))
"""


def run_job(size: str, seconds: float, device: str, batch_size: int) -> dict:
    """Compress and decompress ``seconds`` of 21-channel EEG in a fresh process."""
    cmd = [sys.executable, "-c", _JOB, size, str(seconds), device, str(batch_size), json.dumps(SIZES[size])]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="full,compact,tiny", help="codec sizes for throughput")
    parser.add_argument("--seconds", type=float, default=60.0, help="recording length for throughput")
    parser.add_argument("--hours", type=float, default=1.0, help="recording length for peak memory")
    parser.add_argument("--memory-size", default="compact", help="codec size for the memory run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    print(f"# DAC-SC throughput — {platform.processor() or platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}, device {args.device}, batch {args.batch_size}\n")
    print("| codec | parameters | recording | encode (ch·s/s) | decode (ch·s/s) | peak RSS (MB) | ratio vs 16-bit |")
    print("|---|---|---|---|---|---|---|")
    jobs = [(s, args.seconds) for s in args.sizes.split(",")] + [(args.memory_size, args.hours * 3600)]
    for size, seconds in jobs:
        r = run_job(size, seconds, args.device, args.batch_size)
        print(
            f"| {size} | {r['n_params'] / 1e6:.1f} M | {r['n_channels']} ch × {seconds / 60:g} min "
            f"| {r['encode_ch_s_per_s']:.0f} | {r['decode_ch_s_per_s']:.0f} | {r['peak_rss_mb']:.0f} "
            f"(data {r['data_mb']:.0f}) | {r['ratio_16bit']:.1f}× |",
            flush=True,
        )


if __name__ == "__main__":
    main()
