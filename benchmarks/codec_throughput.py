"""Speed and peak memory of mne-dac's codec against DAC's own path and classic coders.

Every measurement runs in a fresh process (peak memory is that of the job alone), on
21-channel EEG synthesised by tiling the shipped eegmat excerpt (subject 0, rest).

Speed (``--seconds`` of EEG, default 10 min), in channel-seconds of EEG per second:

- mne-dac's :meth:`DACCodec.encode` / :meth:`DACCodec.decode` on codec-domain signals
  (512 Hz, [-1, 1]), and DAC's own ``DAC.compress`` / ``DAC.decompress`` on the same
  signals with the same model, in the same process, interleaved, best of ``--repeats``:
  their ratio. DAC gets one ``AudioSignal`` with the channels as its batch (its loudness
  meter takes at most 5 audio channels), ``normalize_db=None`` (DAC's default would scale
  the EEG by its audio loudness: other data), and windows of ``--win-duration`` seconds
  (default: the span of mne-dac's chunks, context included);
- the whole path, :func:`mne_dac.write_raw_dac` / :func:`mne_dac.read_raw_dac` (preprocessing,
  file, every channel) on a preloaded Raw;
- the baselines: DCT, wavelet and KLT + DCT at the codec's bits/s per channel (on the
  codec-domain signals),
  FLAC, gzip and zstd of the 16-bit samples (0.1 µV step, at 500 Hz).

Peak memory (``--hours``, default 1 and 24) of a compress (``write_raw_dac`` of a preloaded
``RawArray``, as the CLI does) and of a decompress (``read_raw_dac``), each in its own
process: the maximum resident set size during the call (Linux: ``VmHWM`` reset after the
recording is built; elsewhere ``ru_maxrss``). A run whose estimated need exceeds the
available memory is skipped unless ``--force``; the estimate and a linear fit over the
runs that were made are printed.

Usage::

    python benchmarks/codec_throughput.py                          # CPU, 2 threads
    python benchmarks/codec_throughput.py --device cuda --batch-size 16 64 --mixed-precision
    python benchmarks/codec_throughput.py --skip-speed --hours 0.25 0.5 1 24
    python benchmarks/codec_throughput.py --from-json speed.json --rate-quality rate_quality.json  # tables only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve()
#: Random codecs of DAC's sizes (``dac.DAC`` arguments), beside load_codec sources.
SIZES = {
    "full": {"encoder_dim": 64, "decoder_dim": 1536},
    "compact": {"encoder_dim": 16, "decoder_dim": 128},
    "tiny": {"encoder_dim": 4, "decoder_dim": 16},
}


def _estimated_peak_mb(copy_mb: float) -> float:
    """Peak memory (MB) to compress a recording that takes ``copy_mb`` MB as float64.

    The recording itself, its float32 copy at the codec's rate (about half a copy) and one
    channel at a time while it is checked and preprocessed; the codec's activations, which
    do not grow with the recording (it is coded in chunks), about 2 GB with the default
    codec at batch 16.
    """
    return 2500 + 1.8 * copy_mb


# ---------------------------------------------------------------------- jobs (fresh processes)
def _setup(opts: dict):
    """Threads, logging and the codec of a job."""
    import mne
    import torch

    import mne_dac

    torch.set_num_threads(opts["threads"])
    mne.set_log_level("error")
    source = opts["codec"]
    kwargs = {"device": opts["device"], "batch_size": opts["batch_size"], "mixed_precision": opts["mixed_precision"]}
    if source in SIZES:
        return mne_dac.load_codec("random", dac_kwargs=SIZES[source], **kwargs)
    return mne_dac.load_codec(source, **kwargs)


def synthesise(seconds: float):
    """A 21-channel Raw of ``seconds`` at 500 Hz, tiling the shipped excerpt (every channel typed EEG)."""
    import mne
    import numpy as np

    from mne_dac.evaluation.datasets import read_excerpt

    base = read_excerpt(0, "rest", verbose="error")
    base.set_channel_types({"ECG": "eeg", "A2-A1": "eeg"}, verbose="error")  # 21 coded channels
    n_times = round(seconds * base.info["sfreq"])
    piece = base.get_data()
    data = np.empty((len(piece), n_times))  # filled in place: one copy of the recording in memory
    for start in range(0, n_times, base.n_times):
        data[:, start : start + base.n_times] = piece[:, : n_times - start]
    return mne.io.RawArray(data, base.info, verbose="error")


def _reset_peak() -> None:
    """Make the peak RSS of this process start from now (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _rss_mb() -> float:
    status = Path("/proc/self/status")
    for line in status.read_text().splitlines() if status.exists() else []:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def job_speed(opts: dict) -> dict:
    """Throughputs of mne-dac, DAC's own compress/decompress and the baselines on the same EEG."""
    import numpy as np
    import torch
    from audiotools import AudioSignal

    import mne_dac
    from mne_dac.evaluation.baselines import LosslessCoder, make_coder, to_int16
    from mne_dac.signal.preprocessing import to_codec_domain

    codec = _setup(opts)
    raw = synthesise(opts["seconds"])
    n_channels, duration = len(raw.ch_names), raw.n_times / raw.info["sfreq"]
    ch_s = n_channels * duration
    t0 = time.perf_counter()
    x = to_codec_domain(raw.get_data(), raw.info["sfreq"], codec.sfreq, codec.preprocessing).data
    results = {"preprocess": ch_s / (time.perf_counter() - t0), "n_codebooks": codec.default_n_codebooks}
    model = codec.dac_model
    span = codec.chunk_frames + 2 * codec.encoder_context  # frames per chunk, context included
    win = opts["win_duration"] or span * codec.hop_length / codec.sfreq
    signal = AudioSignal(torch.from_numpy(x)[:, None], sample_rate=codec.sfreq)

    def timed(fn, *args, **kwargs):
        if codec.device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        if codec.device.type == "cuda":
            torch.cuda.synchronize()
        return out, time.perf_counter() - t

    # DAC's path codes as many codebooks as mne-dac's (the codec's default depth)
    dac_compress = partial(model.compress, win_duration=win, normalize_db=None, n_quantizers=codec.default_n_codebooks)
    # warm-up (first calls, kernels), on a short piece
    short = x[:2, : 4 * span * codec.hop_length]
    codec.decode(codec.encode(short))
    model.decompress(dac_compress(AudioSignal(torch.from_numpy(short)[:, None], codec.sfreq)))
    best: dict[str, float] = {}
    for _ in range(opts["repeats"]):  # interleaved, so that both paths see the same load
        codes, t_enc = timed(codec.encode, x)
        dac_file, t_dac_enc = timed(dac_compress, signal)
        y, t_dec = timed(codec.decode, codes, n_samples=x.shape[1])
        y_dac, t_dac_dec = timed(model.decompress, dac_file)
        for key, t in {"encode": t_enc, "dac_encode": t_dac_enc, "decode": t_dec, "dac_decode": t_dac_dec}.items():
            best[key] = min(best.get(key, np.inf), t)
    results.update({key: ch_s / t for key, t in best.items()})
    dac_codes = dac_file.codes.numpy()
    n = min(dac_codes.shape[-1], codes.shape[-1])
    results["codes_agree"] = float((dac_codes[..., :n] == codes[..., :n]).mean())
    results["max_decode_difference"] = float(np.abs(y_dac.audio_data[:, 0].numpy() - y).max())
    results["dac_win_duration"] = win

    # whole path on a preloaded Raw: preprocessing, coding, file
    with tempfile.TemporaryDirectory() as tmp:
        fname = Path(tmp) / "speed.eegdac"
        _, t = timed(mne_dac.write_raw_dac, fname, raw, codec=codec)
        results["write_raw_dac"] = ch_s / t
        _, t = timed(mne_dac.read_raw_dac, fname, codec=codec)
        results["read_raw_dac"] = ch_s / t

    if opts["baselines"]:  # on the first 2 minutes at most: their speed does not depend on the length
        seconds = min(duration, 120.0)
        part_ch_s = n_channels * seconds
        x_part = x[:, : int(seconds * codec.sfreq)]
        for method in ("dct", "wavelet", "klt-dct"):
            coder = make_coder(method, codec.bits_per_second(), codec.sfreq)
            coded, t = timed(coder.encode, x_part)
            results[f"{method}_encode"] = part_ch_s / t
            _, t = timed(coder.decode, coded)
            results[f"{method}_decode"] = part_ch_s / t
        samples, _ = to_int16(raw.get_data()[:, : int(seconds * raw.info["sfreq"])])
        for method in ("flac", "gzip", "zstd"):
            coder = LosslessCoder(method)
            coded, t = timed(coder.encode, samples, raw.info["sfreq"])
            results[f"{method}_encode"] = part_ch_s / t
            _, t = timed(coder.decode, coded)
            results[f"{method}_decode"] = part_ch_s / t
    return dict(
        results,
        n_channels=n_channels,
        seconds=duration,
        n_params=sum(p.numel() for p in codec.model.parameters()),
        codec=repr(codec),
        device=str(codec.device),
    )


def job_compress(opts: dict) -> dict:
    """Peak memory and time of write_raw_dac on a preloaded Raw of ``hours``."""
    import mne

    import mne_dac

    codec = _setup(opts)
    raw = synthesise(opts["hours"] * 3600)
    warmup = mne.io.RawArray(raw.get_data(tmax=10.0), raw.info, verbose="error")  # not a copy of the recording
    mne_dac.write_raw_dac(opts["fname"] + ".warmup", warmup, codec=codec, overwrite=True)
    Path(opts["fname"] + ".warmup").unlink()
    rss_before = _rss_mb()
    _reset_peak()
    t0 = time.perf_counter()
    mne_dac.write_raw_dac(opts["fname"], raw, codec=codec, overwrite=True)
    seconds = time.perf_counter() - t0
    n_channels = len(raw.ch_names)
    size = Path(opts["fname"]).stat().st_size
    return {
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": rss_before,
        "data_mb": raw._data.nbytes / 2**20,
        "seconds": seconds,
        "ch_s_per_s": n_channels * raw.n_times / raw.info["sfreq"] / seconds,
        "file_bytes": size,
        "ratio_16bit": 2 * n_channels * raw.n_times / size,
    }


def job_decompress(opts: dict) -> dict:
    """Peak memory and time of read_raw_dac."""
    import mne_dac

    codec = _setup(opts)
    rss_before = _rss_mb()
    _reset_peak()
    t0 = time.perf_counter()
    raw = mne_dac.read_raw_dac(opts["fname"], codec=codec)
    seconds = time.perf_counter() - t0
    return {
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": rss_before,
        "seconds": seconds,
        "ch_s_per_s": len(raw.ch_names) * raw.n_times / raw.info["sfreq"] / seconds,
    }


JOBS = {"speed": job_speed, "compress": job_compress, "decompress": job_decompress}


def run_job(name: str, opts: dict) -> dict:
    """Run a job in a fresh Python process; return its JSON result."""
    env = dict(os.environ, OMP_NUM_THREADS=str(opts["threads"]), MKL_NUM_THREADS=str(opts["threads"]))
    cmd = [sys.executable, str(HERE), "--job", name, json.dumps(opts)]
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise RuntimeError(f"{name} job failed ({out.returncode}):\n{out.stderr[-3000:]}")
    # the machine's load average (1 min) before and after: other jobs share the CPU
    return dict(json.loads(out.stdout.strip().splitlines()[-1]), load=(load, os.getloadavg()[0]))


# ---------------------------------------------------------------------- driver
def _available_mb() -> float:
    meminfo = Path("/proc/meminfo")
    for line in meminfo.read_text().splitlines() if meminfo.exists() else []:
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def speed_table(rows: list[dict]) -> str:
    lines = [
        (
            "| device | batch | mixed precision | encode (ch·s/s) | DAC.compress | ratio | decode (ch·s/s) "
            "| DAC.decompress | ratio | write_raw_dac | read_raw_dac | codes equal | output max abs difference |"
        ),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['device']} | {r['batch_size']} | {'bf16' if r['mixed_precision'] else 'no'} "
            f"| {r['encode']:.0f} | {r['dac_encode']:.0f} | {r['encode'] / r['dac_encode']:.2f}× "
            f"| {r['decode']:.0f} | {r['dac_decode']:.0f} | {r['decode'] / r['dac_decode']:.2f}× "
            f"| {r['write_raw_dac']:.0f} | {r['read_raw_dac']:.0f} | {100 * r['codes_agree']:.1f} % "
            f"| {r['max_decode_difference']:.2g} |"
        )
    return "\n".join(lines)


def baseline_speed_table(row: dict) -> str:
    lines = ["| method | encode (ch·s/s) | decode (ch·s/s) |", "|---|---:|---:|"]
    names = {
        "": "mne-dac codec (DACCodec.encode / decode)",
        "dac_": "DAC.compress / DAC.decompress, same model",
        "dct_": "DCT at the codec's bits/s",
        "wavelet_": "wavelet at the codec's bits/s",
        "klt-dct_": "KLT + DCT at the codec's bits/s",
        "flac_": "FLAC, 16-bit",
        "gzip_": "gzip, 16-bit",
        "zstd_": "zstd, 16-bit",
    }
    for prefix, name in names.items():
        if f"{prefix}encode" in row:
            lines.append(f"| {name} | {row[prefix + 'encode']:.0f} | {row[prefix + 'decode']:.0f} |")
    return "\n".join(lines)


def memory_table(rows: list[dict]) -> str:
    lines = [
        (
            "| recording | data (float64) | compress: RSS before | peak RSS | time | ch·s/s | decompress: RSS before "
            "| peak RSS | time | ch·s/s | file | ratio vs 16-bit |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        c, d = r["compress"], r["decompress"]
        lines.append(
            f"| 21 ch × {r['hours']:g} h | {c['data_mb'] / 1024:.2f} GB | {c['rss_before_mb'] / 1024:.2f} GB "
            f"| {c['peak_rss_mb'] / 1024:.2f} GB | {c['seconds'] / 60:.1f} min | {c['ch_s_per_s']:.0f} "
            f"| {d['rss_before_mb'] / 1024:.2f} GB | {d['peak_rss_mb'] / 1024:.2f} GB | {d['seconds'] / 60:.1f} min "
            f"| {d['ch_s_per_s']:.0f} | {c['file_bytes'] / 2**20:.1f} MB | {c['ratio_16bit']:.1f}× |"
        )
    return "\n".join(lines)


def memory_fit(rows: list[dict]) -> dict | None:
    """Least-squares line of peak RSS (GB) against hours, for compress and decompress."""
    import numpy as np

    if len(rows) < 2:
        return None
    hours = np.array([r["hours"] for r in rows])
    fit = {}
    for step in ("compress", "decompress"):
        peak = np.array([r[step]["peak_rss_mb"] / 1024 for r in rows])
        slope, intercept = np.polyfit(hours, peak, 1)
        fit[step] = {"gb_per_hour": float(slope), "gb_at_0": float(intercept)}
    return fit


def summary_table(rq: dict, speed: dict) -> str:
    """Codec against the baselines: rate, ratio, quality (rate_quality.py's JSON) and speed."""
    import pandas as pd

    mean = pd.DataFrame(rq["mean"]).set_index(["method", "n_codebooks"])
    sfreq = rq["data"]["sfreq"]
    codec = next(iter(rq["codecs"]))
    # the depth the speed was measured at (the codec's default), and half of it
    depth = int(speed.get("n_codebooks") or max(k for m, k in mean.index if m == codec))
    rows = [
        (f"{codec} codec, {k} codebook{'s' * (k > 1)}", (codec, k), "")
        for k in dict.fromkeys((depth, max(depth // 2, 1)))
    ] + [
        ("DAC.compress, same model", None, "dac_"),
        ("DCT", ("dct", depth), "dct_"),
        ("wavelet", ("wavelet", depth), "wavelet_"),
        ("KLT + DCT", ("klt-dct", depth), "klt-dct_"),
    ]
    for convention, text in (("edf", "EDF samples, bit-exact"), ("0.1uV", "0.1 µV step")):
        for method in ("flac", "gzip", "zstd"):
            rows.append((f"{method} ({text})", (f"{method} {convention}", 0), f"{method}_"))
    lines = [
        (
            "| method | bits/s per channel | ratio vs 16-bit | spectrogram loss | PRD % | SNR dB | band-power error "
            "| encode (ch·s/s) | decode (ch·s/s) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(v):
        return "–" if v is None or pd.isna(v) else f"{v:.3g}"

    for name, key, prefix in rows:
        if key is not None and key not in mean.index:
            continue
        q = mean.loc[key] if key is not None else mean.loc[(codec, depth)]
        exact = q["prd"] < 1e-6
        enc, dec = speed.get(f"{prefix}encode"), speed.get(f"{prefix}decode")
        lines.append(
            f"| {name} | {q['bits_per_second']:.0f} | {16 * sfreq / q['bits_per_second']:.1f}× "
            f"| {fmt(q['spectrogram_loss'])} | {fmt(q['prd'])} | {'exact' if exact else fmt(q['snr_db'])} "
            f"| {fmt(q['band_error'])} | {'–' if enc is None else f'{enc:.0f}'} | {'–' if dec is None else f'{dec:.0f}'} |"
        )
    return "\n".join(lines)


def measure(args: argparse.Namespace) -> dict:
    """Run the speed and memory jobs; return everything as a JSON-serialisable dict."""
    sys.path.insert(0, str(HERE.parent))
    from rate_quality import machine

    options = {k: v if isinstance(v, (int, float, str, list, type(None))) else str(v) for k, v in vars(args).items()}
    out: dict = {"machine": machine("cpu"), "options": options}
    base = {"codec": args.codec, "threads": args.threads, "batch_size": args.batch_size[0], "mixed_precision": False}
    if not args.skip_speed:
        out["speed"] = []
        for device in args.device:
            for batch_size in args.batch_size:
                for mp in (False, True) if args.mixed_precision and device != "cpu" else (False,):
                    opts = dict(
                        base,
                        device=device,
                        batch_size=batch_size,
                        mixed_precision=mp,
                        seconds=args.seconds,
                        repeats=args.repeats,
                        win_duration=args.win_duration,
                        baselines=not out["speed"],  # classic coders: once, on the CPU
                    )
                    out["speed"].append(dict(run_job("speed", opts), batch_size=batch_size, mixed_precision=mp))
                    print(f"speed on {device}, batch {batch_size}{', bf16' if mp else ''}: done", flush=True)
    out["memory"], out["skipped"] = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for hours in args.hours:
            need_mb = _estimated_peak_mb(21 * 500 * 3600 * hours * 8 / 2**20)
            if need_mb > _available_mb() and not args.force:
                out["skipped"].append(
                    {"hours": hours, "need_gb": need_mb / 1024, "available_gb": _available_mb() / 1024}
                )
                print(f"memory, {hours:g} h: skipped (needs about {need_mb / 1024:.0f} GB)", flush=True)
                continue
            opts = dict(base, device=args.device[0], hours=hours, fname=str(Path(tmp) / f"{hours:g}h.eegdac"))
            row = {"hours": hours, "compress": run_job("compress", opts), "decompress": run_job("decompress", opts)}
            Path(opts["fname"]).unlink()
            out["memory"].append(row)
            print(f"memory, {hours:g} h: done", flush=True)
    out["memory_fit"] = memory_fit(out["memory"])
    return out


def render(out: dict) -> list[str]:
    """Markdown sections: machine, speed tables, memory table with its fit and skipped runs."""
    info, opts = out["machine"], out["options"]
    sections = [
        (
            f"Machine: {info['cpu']}, {info['cores']} cores ({opts['threads']} torch threads), torch {info['torch']}, "
            f"{info['date']}. Codec `{opts['codec']}`; EEG: the shipped eegmat excerpt tiled to 21 channels."
        )
    ]
    if out.get("speed"):
        first = out["speed"][0]
        loads = [x for r in out["speed"] for x in r["load"]]
        sections += [
            (
                f"**Speed** ({first['n_channels']} channels × {first['seconds'] / 60:g} min; channel-seconds of EEG "
                f"per second, best of {opts['repeats']}; DAC.compress windows of {first['dac_win_duration']:g} s; "
                f"load average {min(loads):.1f}–{max(loads):.1f} on the shared machine):"
            ),
            speed_table(out["speed"]),
            "**Baselines, same recording, CPU** (their first 2 minutes at most):",
            baseline_speed_table(first),
        ]
    if out.get("memory") or out.get("skipped"):
        loads = [x for r in out.get("memory", []) for step in ("compress", "decompress") for x in r[step]["load"]]
        sections += [
            (
                f"**Peak memory** (codec `{opts['codec']}`, batch {opts['batch_size'][0]}, each step in a fresh process"
                + (f"; load average {min(loads):.1f}–{max(loads):.1f}" if loads else "")
                + "):"
            ),
            memory_table(out.get("memory", [])),
        ]
        fit = out.get("memory_fit")
        if fit:
            c, d = fit["compress"], fit["decompress"]
            sections.append(
                f"Linear fit of the peak RSS over these runs: compress {c['gb_at_0']:.2f} GB + {c['gb_per_hour']:.3f} "
                f"GB per hour of recording, decompress {d['gb_at_0']:.2f} GB + {d['gb_per_hour']:.3f} GB per hour. "
                "The part that grows with the recording is the recording itself (float64) and its float32 copy at the "
                "codec's rate; the rest, the codec's activations, does not grow (chunks)."
            )
        for skip in out.get("skipped", []):
            sections.append(
                f"Not run: 21 ch × {skip['hours']:g} h, which needs about {skip['need_gb']:.0f} GB "
                f"where {skip['available_gb']:.0f} GB were available."
            )
    return sections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", choices=list(JOBS), help=argparse.SUPPRESS)
    parser.add_argument("job_options", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--codec", default="default", help="load_codec source, or a random size: full, compact, tiny")
    parser.add_argument("--device", nargs="+", default=["cpu"], help="devices to measure speed on (cpu, cuda)")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[16], help="batch sizes to measure")
    parser.add_argument("--mixed-precision", action="store_true", help="also measure bf16 autocast (CUDA)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seconds", type=float, default=600.0, help="recording length for speed")
    parser.add_argument("--repeats", type=int, default=1, help="speed: best of this many interleaved runs")
    parser.add_argument("--win-duration", type=float, default=None, help="DAC.compress window (s of EEG)")
    parser.add_argument("--hours", type=float, nargs="*", default=[1.0, 24.0], help="recording lengths for memory")
    parser.add_argument("--force", action="store_true", help="run memory jobs even when memory looks too small")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--rate-quality", type=Path, help="rate_quality.json: also print the codec-vs-baseline table")
    parser.add_argument("--out-dir", type=Path, default=None, help="write speed.md, speed.json (and summary.md) here")
    parser.add_argument(
        "--from-json", type=Path, nargs="+", help="only redo the tables from speed.json files (merged: speed, memory)"
    )
    args = parser.parse_args()
    if args.job:
        print(json.dumps(JOBS[args.job](json.loads(args.job_options))))
        return

    if args.from_json:
        out: dict = {}
        for path in args.from_json:
            loaded = json.loads(path.read_text())
            out.update({k: v for k, v in loaded.items() if v or k not in out})
    else:
        out = measure(args)
    sections = render(out)
    print("\n\n".join(sections) + "\n", flush=True)
    if args.rate_quality and out.get("speed"):
        out["summary"] = summary_table(json.loads(args.rate_quality.read_text()), out["speed"][0])
        print("**Codec against baselines** (quality from rate_quality.py, speed from above):\n\n" + out["summary"])
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        (args.out_dir / "speed.md").write_text("\n\n".join(sections) + "\n")
        (args.out_dir / "speed.json").write_text(json.dumps(out, indent=1, default=str))
        if "summary" in out:
            (args.out_dir / "summary.md").write_text(out["summary"] + "\n")


if __name__ == "__main__":
    main()
