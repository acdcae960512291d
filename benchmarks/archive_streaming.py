"""Long recordings: peak memory of compressing and decompressing, random access, real token rate.

Builds EDF recordings of 21 channels at 256 Hz, 1, 4 and 24 hours long, by repeating real eegmat
EEG (``../shared/data/eegmat``), written record by record so that building them takes no memory.
Then, each in a fresh process whose peak resident memory (``ru_maxrss``) is reported:

- ``compress``: :func:`mne_dac.write_raw_dac` on the EDF opened without preloading;
- ``decompress``: :func:`mne_dac.read_raw_dac` with ``preload=False``, saved to FIF, and to EDF
  (what ``mne-dac decompress`` does for each).

The 1-hour recording is coded with the shipped default codec; the longer ones with a small
random codec (``--small``), since the codec's memory does not grow with the recording.
Random access: 10 s from the middle, the codec already loaded (and the time to load it). For
the default codec at 24 hours, a file is made of the 1-hour file's codes repeated 24 times: the
same index, blocks and decoding work as a compressed day (compressing one with the default codec
takes about two hours on 2 cores).

Usage::

    python benchmarks/archive_streaming.py --data ../shared/data/eegmat --out /tmp/archive \\
        --hours 1 4 24 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

N_CHANNELS, SFREQ = 21, 256


def build_edf(fname: Path, hours: float, data_dir: Path) -> None:
    """An EDF of ``hours`` of 21-channel EEG at 256 Hz, repeating eegmat subject 20, record by record."""
    import mne

    if fname.is_file():
        return
    raw = mne.io.read_raw_edf(data_dir / "Subject20_1.edf", preload=True, verbose="error")
    raw.pick(raw.ch_names[:N_CHANNELS]).resample(SFREQ, verbose="error")
    unit = 1e-7  # 0.1 µV per digital step: ±3.3 mV in int16
    digital = np.clip(np.round(raw.get_data() / unit), -32768, 32767).astype("<i2")
    n_records = int(hours * 3600)
    labels = [f"EEG{i:02d}" for i in range(N_CHANNELS)]
    header = "0       " + "X X X X".ljust(80) + "Startdate 01-JAN-2020 X X X".ljust(80) + "01.01.2000.00.00"
    header += str(256 * (N_CHANNELS + 1)).ljust(8) + " " * 44 + str(n_records).ljust(8) + "1       "
    header += str(N_CHANNELS).ljust(4)
    fields = [labels, ["AgAgCl electrode"] * N_CHANNELS, ["uV"] * N_CHANNELS, ["-3276.8"] * N_CHANNELS,
              ["3276.7"] * N_CHANNELS, ["-32768"] * N_CHANNELS, ["32767"] * N_CHANNELS, [""] * N_CHANNELS,
              [str(SFREQ)] * N_CHANNELS, [""] * N_CHANNELS]  # fmt: skip
    widths = [16, 80, 8, 8, 8, 8, 8, 80, 8, 32]
    for values, width in zip(fields, widths):
        header += "".join(v.ljust(width) for v in values)
    n_src = digital.shape[1] // SFREQ
    with open(fname, "wb") as fid:
        fid.write(header.encode("ascii"))
        for r in range(n_records):
            second = r % n_src
            fid.write(np.ascontiguousarray(digital[:, second * SFREQ : (second + 1) * SFREQ]).tobytes())


def measured(code: str, threads: int) -> tuple[dict, float]:
    """Run ``code`` in a fresh Python; its printed JSON result and its peak RSS in GB."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    if status:
        raise RuntimeError(f"child failed ({status}): {out[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 2**20  # kB -> GB


COMPRESS = """
import json, time, mne, torch
torch.set_num_threads({threads})
from mne_dac import load_codec, write_raw_dac
from mne_dac.io.container import read_header
codec = load_codec({codec!r})
raw = mne.io.read_raw_edf({edf!r}, preload=False, verbose="error")
t = time.perf_counter()
write_raw_dac({out!r}, raw, codec=codec, overwrite=True, max_clipped=1, verbose="error")
h = read_header({out!r})
print(json.dumps(dict(seconds=time.perf_counter() - t, size=h.file_size, nominal=h.bits_per_second,
                      real=h.coded_bits_per_second)))
"""

DECOMPRESS = """
import json, time, torch
torch.set_num_threads({threads})
from mne_dac import load_codec, read_raw_dac
from mne_dac.io.raw import save_reconstruction
codec = load_codec({codec!r})
t = time.perf_counter()
raw = read_raw_dac({out!r}, codec, preload=False, verbose="error")
save_reconstruction(raw, {dest!r}, overwrite=True)
print(json.dumps(dict(seconds=time.perf_counter() - t)))
"""

RANDOM_ACCESS = """
import json, time, torch
torch.set_num_threads({threads})
from mne_dac import load_codec, read_raw_dac
from mne_dac.io.container import read_header
t = time.perf_counter()
codec = load_codec({codec!r})
load = time.perf_counter() - t
mid = read_header({out!r}).duration / 2
times = []
for start in (mid, mid - 20, mid + 20, mid + 100):
    t = time.perf_counter()
    read_raw_dac({out!r}, codec, tmin=start, tmax=start + 10, verbose="error")
    times.append(time.perf_counter() - t)
print(json.dumps(dict(load=load, first=times[0], seconds=min(times[1:]))))
"""


def repeated_codes(one_hour: Path, dest: Path, hours: int) -> Path:
    """A ``hours``-long file of the default codec: the 1-hour file's codes (whole 16-s blocks) and band gains
    repeated."""
    import dataclasses

    from mne_dac import read_tokens, write_tokens

    tokens = read_tokens(one_hour)
    assert tokens.n_frames * tokens.hop_length * tokens.sfreq == tokens.n_times * tokens.codec_sfreq  # whole frames
    gains = None if tokens.band_gains is None else np.tile(tokens.band_gains, (hours, 1, 1))
    day = dataclasses.replace(tokens, codes=np.tile(tokens.codes, (1, 1, hours)), n_times=tokens.n_times * hours,
                              other_data=np.zeros((0, tokens.n_times * hours)), band_gains=gains)  # fmt: skip
    return write_tokens(dest, day, overwrite=True)


def small_codec(path: Path) -> str:
    """A small random codec (256 Hz, hop 64, 2 codebooks of 256 entries), saved in mne-dac's format."""
    from mne_dac import load_codec

    if not path.is_file():
        codec = load_codec("random", sfreq=256.0, n_codebooks=2, codebook_size=256, seed=0,
                           dac_kwargs=dict(encoder_dim=4, decoder_dim=16, encoder_rates=[2, 2, 4, 4],
                                           decoder_rates=[4, 4, 2, 2]))  # fmt: skip
        codec.save(path, overwrite=True)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data" / "eegmat")
    parser.add_argument("--out", type=Path, default=Path("archive_benchmark"))
    parser.add_argument("--hours", type=float, nargs="+", default=[1, 4, 24])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    small = small_codec(args.out / "small.pt")
    rows = []
    for hours in args.hours:
        edf = args.out / f"rec_{hours:g}h.edf"
        build_edf(edf, hours, args.data)
        codec = "default" if hours <= 1 else small
        out, fif = args.out / f"rec_{hours:g}h.eegdac", args.out / f"rec_{hours:g}h_raw.fif"
        fmt = dict(threads=args.threads, codec=codec, edf=str(edf), out=str(out), fif=str(fif))
        enc, enc_rss = measured(COMPRESS.format(**fmt), args.threads)
        dec, dec_rss = measured(DECOMPRESS.format(**fmt, dest=str(fif)), args.threads)
        edf_out = args.out / f"rec_{hours:g}h_decoded.edf"
        dec_edf, dec_edf_rss = measured(DECOMPRESS.format(**fmt, dest=str(edf_out)), args.threads)
        edf_out.unlink()
        ra, _ = measured(RANDOM_ACCESS.format(**fmt), args.threads)
        fif_size = sum(f.stat().st_size for f in args.out.glob(f"rec_{hours:g}h_raw*.fif"))
        for f in args.out.glob(f"rec_{hours:g}h_raw*.fif"):
            f.unlink()
        rows.append(dict(hours=hours, codec="default" if codec == "default" else "small", edf_mb=edf.stat().st_size / 1e6,
                         eegdac_mb=enc["size"] / 1e6, compress_s=enc["seconds"], compress_rss_gb=enc_rss,
                         decompress_s=dec["seconds"], decompress_rss_gb=dec_rss,
                         decompress_edf_s=dec_edf["seconds"], decompress_edf_rss_gb=dec_edf_rss, fif_mb=fif_size / 1e6,
                         random_access_s=ra["seconds"], codec_load_s=ra["load"], nominal_bps=enc["nominal"],
                         real_bps=enc["real"]))  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    if 1 in args.hours:
        day = repeated_codes(args.out / "rec_1h.eegdac", args.out / "rec_24h_default.eegdac", 24)
        ra, _ = measured(RANDOM_ACCESS.format(threads=args.threads, codec="default", out=str(day)), args.threads)
        print(f"\n10 s from the middle of a 24-hour file, default codec: {ra['seconds']:.2f} s "
              f"({ra['first']:.2f} s for the first read of the process, imports included; "
              f"{ra['load']:.1f} s to load the codec)")  # fmt: skip
    print(
        "\n| hours | codec | EDF MB | .eegdac MB | compress s / peak GB | decompress to FIF s / peak GB "
        "| to EDF s / peak GB | 10 s from the middle (s) | bits/s per channel: nominal → real |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['hours']:g} | {r['codec']} | {r['edf_mb']:.0f} | {r['eegdac_mb']:.1f} | {r['compress_s']:.0f} / "
            f"{r['compress_rss_gb']:.2f} | {r['decompress_s']:.0f} / {r['decompress_rss_gb']:.2f} | "
            f"{r['decompress_edf_s']:.0f} / {r['decompress_edf_rss_gb']:.2f} | "
            f"{r['random_access_s']:.2f} (+{r['codec_load_s']:.1f} codec load) | {r['nominal_bps']:g} → "
            f"{r['real_bps']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
