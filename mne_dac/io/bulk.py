"""Compress a whole tree of recordings: parallel, resumable, indexed.

Every recording under a folder is compressed to ``.eegdac`` in the same relative place
under an output folder. Runs can be interrupted and rerun: an output counts as
finished only when its header and checksum read back (:func:`~mne_dac.io.container.read_header`),
and outputs are written to a temporary name then renamed, so a killed run never
leaves a file that looks finished. The index (CSV) records, per recording, what was
done, the bitrate, the compression ratio and the reconstruction fidelity.
"""

from __future__ import annotations

import csv
import functools
import glob
import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mne.utils import _check_option, _validate_type, logger, use_log_level, verbose

from mne_dac.io.recordings import (
    RECORDING_EXTENSIONS,
    UnreadableRecordingError,
    check_extensions,
    find_recordings,
    read_recording,
    recording_extension,
)
from mne_dac.io.transform_blocks import is_transform_coder
from mne_dac.signal.groups import group_kwargs, resolve_groups
from mne_dac.utils._deprecation import renamed
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._threads import threads_per_worker, torch_threads

if TYPE_CHECKING:
    import mne
    import pandas as pd

    from mne_dac.codecs.codec import DACCodec
    from mne_dac.io.container import EEGDACHeader
    from mne_dac.signal.preprocessing import PreprocessingSettings

__all__ = ["INDEX_COLUMNS", "RECORDING_EXTENSIONS", "compress_dir", "summarize_index"]

#: Suffix of the compressed files.
OUTPUT_SUFFIX = ".eegdac"

#: Status of a recording in the index.
COMPRESSED, SKIPPED, FAILED = "compressed", "skipped", "failed"

#: Columns of the index, in order.
INDEX_COLUMNS = (
    "input",
    "output",
    "status",
    "error",
    "duration_s",
    "n_channels",
    "n_eeg_channels",
    "codec",
    "bits_per_second",
    "coded_bits_per_second",
    "clipped_share",
    "input_bytes",
    "input_sha256",
    "output_bytes",
    "compression_ratio",
    "spectrogram_loss",
    "prd",
    "elapsed_s",
)

#: Integer columns of the index (nullable: empty for failed recordings).
_INTEGER_COLUMNS = ("n_channels", "n_eeg_channels", "input_bytes", "output_bytes")

#: Columns of a skipped recording taken from the index of the run that compressed it.
_CARRIED_OVER = ("input_bytes", "spectrogram_loss", "prd")


@dataclass(frozen=True)
class _Job:
    """One recording to compress, with everything a (possibly remote) worker needs."""

    input: str
    output: str
    rel_input: str
    rel_output: str
    codec: Any  # (source, stamp) of a codec file or tag, or a DACCodec
    device: str | None
    n_codebooks: int | None
    groups: Any
    max_clipped: float | None
    max_error: float | None
    bits_per_second: float | None
    restore_bands: bool
    clip_at_level: bool | str | None
    exclude: tuple[str, ...]
    n_threads: int
    overwrite: bool
    fidelity: bool
    log_level: int
    launcher_pid: int
    recorded_sha256: str  # of the input when its output was written ("": unknown)


@renamed(not_eeg="exclude")
@verbose
@fill_doc
def compress_dir(
    in_dir: str | Path,
    out_dir: str | Path,
    codec: Any = "default",
    *,
    n_codebooks: int | None = None,
    groups: Any = None,
    grouping: str | None = None,
    max_clipped: float | None = None,
    max_error: float | None = None,
    bits_per_second: float | None = None,
    restore_bands: bool = True,
    clip_at_level: bool | str | None = None,
    exclude: Sequence[str] = (),
    extensions: Sequence[str] = RECORDING_EXTENSIONS,
    n_jobs: int | None = None,
    n_threads: int | None = None,
    overwrite: bool = False,
    fidelity: bool = True,
    index: str | Path | None = "index.csv",
    device: str | None = None,
    progress: bool = True,
    verbose: bool | str | int | None = None,
) -> pd.DataFrame:
    """Compress every recording under a folder into the same tree of ``.eegdac`` files.

    ``in_dir/a/b/rec.edf`` becomes ``out_dir/a/b/rec.eegdac``. Files and folders whose
    names start with ``"."`` and everything under ``out_dir`` are ignored. The run is
    resumable: outputs whose header and checksum read back are skipped (unless
    ``overwrite``); partial outputs of an interrupted run (temporary files, truncated
    files) are not, and are replaced. A recording that cannot be read or compressed is
    logged and recorded as failed in the index; the others are still compressed. Per
    recording, only warnings are logged: the results are in the index.

    Recordings are compressed in parallel with :class:`joblib.Parallel`. Each worker
    process loads the codec once (when ``codec`` is a tag or a file) and reuses it. To
    spread the work over a Dask cluster, use joblib's Dask backend::

        from distributed import Client
        import joblib

        client = Client("tcp://scheduler:8786")  # or Client() for a local cluster
        with joblib.parallel_config(backend="dask"):
            compress_dir("eeg/", "eeg_dac/", "my_codec.pt", n_jobs=-1)

    The workers must see ``in_dir``, ``out_dir`` and the codec file at the same paths
    (a shared file system).

    Parameters
    ----------
    in_dir : path-like
        Folder searched recursively for recordings (any format :func:`mne.io.read_raw`
        reads).
    out_dir : path-like
        Output folder, created if needed.
    codec : str | path-like | DACCodec
        The codec: ``"default"``, a DAC tag or the path of a codec file (see
        :func:`~mne_dac.load_codec`), or a :class:`~mne_dac.DACCodec` (sent to the
        workers with every recording: pass its file to parallel runs instead). Or
        ``"klt-codec"`` or ``"klt-dct"``: a transform code, no tokens (see :func:`~mne_dac.write_raw_dac`).
    n_codebooks : int | None
        Codebooks to use (the bitrate); ``None``: all of the codec's.
    %(groups)s
    %(grouping)s
    %(max_clipped)s
        A recording beyond it is reported as failed; ``clipped_share`` in the index says how
        much of each recording was clipped.
    %(max_error)s
        An output with another bound (or none) is compressed again.
    bits_per_second : float | None
        Bits per second per EEG channel: of a transform code (``None``: 88), or of a DAC-SC codec whose
        depth is chosen per channel and 4 s (``None``: its tokens at ``n_codebooks``); see
        :func:`~mne_dac.write_raw_dac`.
    %(restore_bands)s
    clip_at_level : bool | ``"channel"`` | None
        A codec's tokens: ``True`` codes each recording with the clip level that brings its EEG to the codec's level
        (:func:`~mne_dac.preprocessing_at_level`), for EEG far quieter or louder than the codec's training EEG;
        ``"channel"``: with a clip level per channel, each channel at the codec's level (``per_channel=True``);
        ``False``: at the codec's fixed clip level (the paper's ±200 µV); ``None``: the codec's own scaling
        (``"channel"`` for a codec fitted at each channel's level, :attr:`~mne_dac.DACCodec.channel_levels`,
        ``False`` otherwise). An output whose scaling is not the one asked for is compressed again; with
        ``True``, a rerun reads each finished recording once more to find its level.
        Transform codes and files within a rate (``bits_per_second``) scale each block themselves.
    exclude : sequence of str
        Channels to keep out of coding: channels typed EEG in the files that are not EEG
        (ECG, ear references…). Where present, they are typed ``"misc"`` and kept
        losslessly instead of coded. (Formerly ``not_eeg``.)
    extensions : sequence of str
        File name endings of the recordings, case-insensitive (default
        :data:`RECORDING_EXTENSIONS`).
    n_jobs : int | None
        Recordings compressed at once; ``-1``: all cores (or all Dask workers).
        ``None``: 1, or the ``n_jobs`` of an enclosing :func:`joblib.parallel_config`.
    n_threads : int | None
        torch CPU threads of each worker; ``None`` splits the cores between the workers
        (more threads than cores in all would make every worker many times slower).
    overwrite : bool
        Recompress recordings whose output is finished.
    fidelity : bool
        Decode each new output and compare it with the recording: spectrogram loss and
        PRD of :func:`~mne_dac.signal.metrics.fidelity_report`, against the EEG high-passed as
        the codec does (what is below the codec's high-pass is removed by design); with
        ``max_error``, against the EEG as it is (the residual layer keeps all of it).
    index : str | path-like | None
        The index file (CSV), relative to ``out_dir`` unless absolute; ``None``: none.
        Rows are also appended to ``<index>.part`` as recordings finish, so an
        interrupted run keeps its results.
    device : str | None
        Torch device of the codec (default: CUDA if available).
    progress : bool
        Show a progress bar.
    %(verbose)s

    Returns
    -------
    index : pandas.DataFrame
        One row per recording, sorted by input, with the columns of
        :data:`INDEX_COLUMNS`: ``input`` (relative to ``in_dir``), ``output`` (relative
        to ``out_dir``), ``status`` (``"compressed"``, ``"skipped"``: already done, or
        ``"failed"``), ``error`` (why it failed, or why the fidelity is missing),
        ``duration_s``, ``n_channels``, ``n_eeg_channels`` (coded), ``codec``,
        ``bits_per_second`` (bits/s per EEG channel, nominal), ``coded_bits_per_second`` (what
        the entropy-coded tokens take in the file), ``input_bytes`` (the files MNE read),
        ``input_sha256`` (of the recording's files: a rerun recompresses a recording whose
        files changed, even with their size and modification time kept),
        ``output_bytes``, ``compression_ratio`` (all channels as 16-bit samples at the
        original rate over the whole ``.eegdac`` file, which holds the other channels
        losslessly and the measurement info: :attr:`EEGDACHeader.file_compression_ratio
        <mne_dac.io.container.EEGDACHeader.file_compression_ratio>`), ``spectrogram_loss`` and ``prd``
        (percent; NaN without ``fidelity``; carried over for skipped recordings from the index
        of the run that compressed them) and ``elapsed_s``. ``index.attrs["fname"]`` is
        the index file.
    """
    groups = resolve_groups(groups, grouping)
    import pandas as pd

    in_dir, out_dir = Path(in_dir).expanduser().resolve(), Path(out_dir).expanduser().resolve()
    if not in_dir.is_dir():
        raise FileNotFoundError(f"No such folder: {in_dir}")
    extensions = check_extensions(extensions)
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    is_transform_coder(codec, n_codebooks=n_codebooks, groups=groups, bits_per_second=bits_per_second)
    _validate_type(restore_bands, bool, "restore_bands")
    _validate_type(clip_at_level, (bool, str, None), "clip_at_level")
    if isinstance(clip_at_level, str):
        _check_option("clip_at_level", clip_at_level, ("channel",))
    if clip_at_level and (is_transform_coder(codec) or bits_per_second is not None):
        raise ValueError("clip_at_level sets how a codec's tokens are scaled; a transform code or a file within a "
                         "rate (bits_per_second) scales each block itself: leave clip_at_level out.")  # fmt: skip
    codec_spec, codec_obj = _codec_spec(codec, device)
    if codec_obj is not None:
        codec_obj.check_groups(groups)
    if index is not None:
        _validate_type(index, "path-like", "index")
        index = out_dir / Path(index).expanduser()
        index.parent.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    inputs = find_recordings(in_dir, extensions, skip=out_dir)
    logger.info("Found %d recordings under %s", len(inputs), in_dir)
    outputs, rows = _output_names(inputs, in_dir, out_dir, extensions)
    options = {
        "codec": codec_spec,
        "device": device,
        "n_codebooks": n_codebooks,
        "groups": groups,
        "max_clipped": max_clipped,
        "max_error": max_error,
        "bits_per_second": bits_per_second,
        "restore_bands": restore_bands,
        "clip_at_level": clip_at_level,
        "exclude": exclude,
        "n_threads": threads_per_worker(n_jobs) if n_threads is None else int(n_threads),
        "overwrite": overwrite,
        "fidelity": fidelity,
        "log_level": max(logger.getEffectiveLevel(), logging.WARNING),  # per-recording results go to the index
        "launcher_pid": os.getpid(),
    }
    previous = {**_read_rows(index), **_read_rows(_journal(index))} if index is not None else {}
    jobs = []
    for out, fname in outputs.items():
        rel_input, rel_output = fname.relative_to(in_dir).as_posix(), out.relative_to(out_dir).as_posix()
        recorded = _recorded_sha256(previous.get(rel_input), rel_output)
        jobs.append(_Job(str(fname), str(out), rel_input, rel_output, **options, recorded_sha256=recorded))
    try:
        rows += _run(jobs, previous, index, n_jobs, progress)
    finally:
        _load_codec_cached.cache_clear()

    table = pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).sort_values("input", ignore_index=True)
    table = table.astype(dict.fromkeys(_INTEGER_COLUMNS, "Int64"))
    if codec_obj is None:  # what the index's "codec" says of the files this run writes
        written_by = codec_spec  # a transform coder
    elif bits_per_second is not None:
        written_by = "klt-codec"  # the codec within a rate
    else:
        written_by = codec_obj.identity.describe()
    _warn_other_codec(table, written_by)
    if index is not None:
        from mne_dac.utils._atomic import atomic_write

        with atomic_write(index, overwrite=True) as tmp:
            table.to_csv(tmp, index=False)
        _journal(index).unlink(missing_ok=True)
    table.attrs["fname"] = None if index is None else str(index)
    logger.info("%s", summarize_index(table))
    return table


def _run(jobs: list[_Job], previous: dict[str, dict], index: Path | None, n_jobs: int | None, progress: bool) -> list:
    """Run the jobs with joblib, journaling rows as they finish; log the failures at the end."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    rows = []
    counts = dict.fromkeys((COMPRESSED, SKIPPED, FAILED), 0)
    # MNE's log level is process-wide and its ``verbose`` contexts are not thread-safe:
    # threaded workers (joblib's threading backend, Dask's threads) may leave it changed
    with _journal_writer(index) as record, use_log_level(logger.level):
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(_compress_one)(j) for j in jobs)
        with tqdm(results, total=len(jobs), desc="Compressing", unit="file", disable=not progress) as bar:
            for row in bar:
                if row["status"] == SKIPPED:
                    _carry_over(row, previous.get(row["input"]))
                counts[row["status"]] += 1
                bar.set_postfix(counts, refresh=False)
                record(row)
                rows.append(row)
    for row in rows:  # after the progress bar, not through it
        if row["status"] == FAILED:
            logger.warning("Failed %s: %s", row["input"], row["error"])
    return rows


def _warn_other_codec(table: pd.DataFrame, codec_name: str) -> None:
    """Warn about skipped outputs that another codec wrote."""
    other = table[(table["status"] == SKIPPED) & (table["codec"] != codec_name)]
    if len(other):
        logger.warning(
            "%d skipped recording(s) were compressed with another codec than %s (e.g. %s: %s); "
            "recompress them with overwrite=True (--overwrite).",
            len(other),
            codec_name,
            other["output"].iloc[0],
            other["codec"].iloc[0],
        )


def summarize_index(index: pd.DataFrame) -> str:
    """Summarise the index of :func:`compress_dir`.

    Parameters
    ----------
    index : pandas.DataFrame
        The index, as returned by :func:`compress_dir` or read from its CSV file.

    Returns
    -------
    summary : str
        Counts per status, total hours, total input and output bytes, mean bitrate,
        compression ratio and fidelity, and the failures.
    """
    status = index["status"]
    done = index[status != FAILED]
    lines = [
        (
            f"{len(index)} recordings: {int((status == COMPRESSED).sum())} compressed, "
            f"{int((status == SKIPPED).sum())} skipped (already done), {int((status == FAILED).sum())} failed."
        )
    ]
    if len(done):
        lines.append(
            f"Done (compressed or skipped): {done['duration_s'].sum() / 3600:.3g} h of EEG, "
            f"{_bytes(done['input_bytes'].sum())} in, "
            f"{_bytes(done['output_bytes'].sum())} out; mean {done['bits_per_second'].mean():.4g} bits/s per channel, "
            f"mean compression ratio {done['compression_ratio'].mean():.3g}× (16-bit samples vs .eegdac file)."
        )
        measured = done.dropna(subset=["spectrogram_loss", "prd"])
        if len(measured):
            lines.append(
                f"Fidelity ({len(measured)} recordings): mean spectrogram loss "
                f"{measured['spectrogram_loss'].mean():.4g}, mean PRD {measured['prd'].mean():.3g} %."
            )
    lines.extend(f"Failed: {row.input}: {row.error}" for row in index[status == FAILED].itertuples())
    if index.attrs.get("fname"):
        lines.append(f"Index: {index.attrs['fname']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- planning
def _output_names(
    inputs: list[Path], in_dir: Path, out_dir: Path, extensions: tuple[str, ...]
) -> tuple[dict[Path, Path], list[dict]]:
    """Input of each output (same relative folder, ``.eegdac`` suffix), and failed rows for name clashes."""
    claimed: dict[Path, Path] = {}
    clashes = []
    for fname in inputs:
        rel = fname.relative_to(in_dir)
        out = out_dir / rel.parent / (rel.name[: -len(recording_extension(rel, extensions))] + OUTPUT_SUFFIX)
        rel_out = out.relative_to(out_dir).as_posix()
        if out in claimed:
            error = f"same output {rel_out} as {claimed[out].relative_to(in_dir).as_posix()}: rename one of them"
            clashes.append(_row(rel.as_posix(), rel_out, FAILED, error=error))
            logger.warning("Failed %s: %s", rel.as_posix(), error)
            continue
        claimed[out] = fname
    return claimed, clashes


def _codec_spec(codec: Any, device: str | None) -> tuple[Any, DACCodec | None]:
    """What workers load the codec from, and the codec itself (loaded to check it; ``None``: a transform coder)."""
    from mne_dac.codecs.codec import DACCodec
    from mne_dac.codecs.loading import DAC_TAGS, SHIPPED_CODECS

    if is_transform_coder(codec):
        return codec, None
    if isinstance(codec, DACCodec):
        return codec, codec
    _validate_type(codec, "path-like", "codec")
    source = str(codec)
    if source in DAC_TAGS or source in SHIPPED_CODECS or source == "random":
        spec = (source, None)
    else:
        path = Path(source).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"No codec file {path}")
        stat = path.stat()
        spec = (str(path), (stat.st_mtime_ns, stat.st_size))  # a file changed since is reloaded
    return spec, _worker_codec(spec, device)


@functools.lru_cache(maxsize=2)
def _load_codec_cached(source: str, stamp: Any, device: str | None) -> DACCodec:
    from mne_dac.codecs.loading import load_codec

    return load_codec(source, device=device, verbose="error")


def _worker_codec(codec: Any, device: str | None) -> DACCodec | str:
    """The codec of a job, loaded once per worker process (a transform coder: its name)."""
    if isinstance(codec, tuple):
        return _load_codec_cached(*codec, device)
    return codec


# --------------------------------------------------------------------------- index
def _row(rel_input: str, rel_output: str, status: str, **values: Any) -> dict:
    row = dict.fromkeys(INDEX_COLUMNS, math.nan)
    row.update(input=rel_input, output=rel_output, status=status, error="", codec="")
    row.update(values)
    return row


def _journal(index: Path) -> Path:
    return index.with_name(index.name + ".part")


@contextmanager
def _journal_writer(index: Path | None) -> Iterator[Callable[[dict], None]]:
    """Yield ``record(row)``, appending rows to ``<index>.part`` at once (a no-op without index)."""
    if index is None:
        yield lambda row: None
        return
    fname = _journal(index)
    new = not fname.is_file() or fname.stat().st_size == 0
    with open(fname, "a", newline="", encoding="utf-8") as fid:
        writer = csv.DictWriter(fid, fieldnames=INDEX_COLUMNS)
        if new:
            writer.writeheader()

        def record(row: dict) -> None:
            writer.writerow(row)
            fid.flush()

        yield record


def _read_rows(fname: Path) -> dict[str, dict]:
    """Rows of an earlier index or journal, by input; empty when missing or unreadable."""
    if not fname.is_file():
        return {}
    try:
        with open(fname, newline="", encoding="utf-8") as fid:
            return {row["input"]: row for row in csv.DictReader(fid) if row.get("input")}
    except (OSError, csv.Error, KeyError, UnicodeDecodeError) as err:
        logger.warning("Ignoring the unreadable earlier index %s (%s)", fname, err)
        return {}


def _recorded_sha256(before: dict | None, rel_output: str) -> str:
    """The input's SHA-256 that an earlier run recorded with this output ("": none)."""
    if before is None or before.get("output") != rel_output or before.get("status") == FAILED:
        return ""
    return before.get("input_sha256") or ""


def _carry_over(row: dict, before: dict | None) -> None:
    """Fill a skipped row's input size and fidelity from the run that compressed it."""
    if before is None or before.get("output") != row["output"] or before.get("status") == FAILED:
        return
    for key in _CARRIED_OVER:
        try:
            value = float(before.get(key) or "nan")
        except ValueError:
            continue
        if not math.isnan(value):
            row[key] = value


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"


# --------------------------------------------------------------------------- worker
#: The parent of this (worker) process when it took its first recording.
_first_parent: list[int] = []


def _parent_gone(launcher_pid: int) -> bool:
    """Whether the process that started this worker has died (the worker was re-parented).

    A worker of a killed ``compress-dir`` then stops instead of writing on: its remaining
    recordings fail at once. Recordings compressed in the launching process itself never stop.
    """
    if os.getpid() == launcher_pid:
        return False
    if not _first_parent:
        _first_parent.append(os.getppid())
    return os.getppid() != _first_parent[0]


def _compress_one(job: _Job) -> dict:
    """Compress one recording; never raises (failures become a ``"failed"`` row)."""
    start = time.perf_counter()
    row = _row(job.rel_input, job.rel_output, COMPRESSED)
    output = Path(job.output)
    if _parent_gone(job.launcher_pid):
        return {**row, "status": FAILED, "error": "the process that started compress-dir is gone"}
    try:
        with use_log_level(job.log_level), torch_threads(job.n_threads):
            files = _recording_files(Path(job.input), output)
            sha256 = _sha256(files)
            changed = _input_changed(files, output, job.recorded_sha256, sha256)
            header = None if job.overwrite or changed else _finished_header(output)
            if header is not None and header.max_error != job.max_error:  # another bound was asked for
                header = None
            raw = None
            if header is not None and header.transform is None:  # a codec's tokens: at the level asked for?
                scaling = _scaling(job)
                if scaling == "channel":  # each channel's level follows from the unchanged recording
                    other_level = not header.preprocessing.per_channel
                else:
                    raw = _read_input(job) if scaling else None
                    asked = _preprocessing(job, raw)
                    other_level = asked is not None and header.preprocessing.clip != asked.clip
                if other_level:
                    logger.info("Recompressing %s: another clip level was asked for", output)
                    header = None
            if header is not None:
                row.update(_header_values(header), status=SKIPPED, input_bytes=Path(job.input).stat().st_size)
            else:
                row.update(_compress(job, output, raw))
            row["input_sha256"] = sha256
    except Exception as err:  # noqa: BLE001 - one bad recording must not stop the run
        row.update(status=FAILED, error=_one_line(err))
    row["elapsed_s"] = time.perf_counter() - start
    return row


def _recording_files(input: Path, output: Path) -> list[Path]:
    """The input and the files of the same stem (BrainVision's ``.eeg``, EEGLAB's ``.fdt``…)."""
    stem = input.name.split(".")[0]
    files = {input, *input.parent.glob(f"{glob.escape(stem)}.*")}
    return sorted(f for f in files if f.is_file() and f != output)


def _sha256(files: list[Path]) -> str:
    """SHA-256 of the files' names and contents, in order."""
    digest = hashlib.sha256()
    for fname in files:
        digest.update(fname.name.encode("utf-8", "surrogateescape") + b"\0")
        with open(fname, "rb") as fid:
            digest.update(hashlib.file_digest(fid, "sha256").digest())
    return digest.hexdigest()


def _input_changed(files: list[Path], output: Path, recorded_sha256: str, sha256: str) -> bool:
    """Whether the output is stale: a file of the recording was modified after the output
    was written, or its content differs from the one recorded when it was written."""
    if not output.is_file():
        return False
    written = output.stat().st_mtime
    if any(f.stat().st_mtime > written for f in files):
        logger.info("Recompressing %s: its input changed after it was written", output)
        return True
    if recorded_sha256 and recorded_sha256 != sha256:
        logger.info("Recompressing %s: its input's content changed (SHA-256)", output)
        return True
    return False


def _finished_header(output: Path) -> EEGDACHeader | None:
    """The header of a finished output, ``None`` when missing or partial."""
    from mne_dac.io.container import read_header

    if not output.is_file():
        return None
    try:
        return read_header(output)
    except (OSError, ValueError, KeyError) as err:  # truncated, corrupted, not .eegdac
        logger.info("Recompressing %s: unfinished or corrupted output (%s)", output, err)
        return None


def _read_input(job: _Job) -> mne.io.BaseRaw:
    """The job's recording, its excluded channels typed ``"misc"``."""
    raw = read_recording(job.input)
    present = [ch for ch in job.exclude if ch in raw.ch_names]
    if present:
        raw.set_channel_types(dict.fromkeys(present, "misc"), verbose="error")
    return raw


def _scaling(job: _Job) -> bool | str | None:
    """How the job scales a codec's tokens (``clip_at_level``, the codec's own where ``None``); ``None`` for a
    transform code or a file within a rate."""
    codec = _worker_codec(job.codec, job.device)
    if isinstance(codec, str) or job.bits_per_second is not None:
        return None
    if job.clip_at_level is None:
        return "channel" if codec.channel_levels else False
    return job.clip_at_level


def _preprocessing(job: _Job, raw: mne.io.BaseRaw | None) -> PreprocessingSettings | None:
    """The preprocessing of a codec's tokens that the job asks for (``raw``: its recording, needed unless at the
    codec's fixed clip level); ``None`` for a transform code or a file within a rate."""
    from mne_dac.io.raw import preprocessing_at_level

    scaling = _scaling(job)
    if scaling is None:
        return None
    codec = _worker_codec(job.codec, job.device)
    if not scaling:
        return codec.preprocessing
    return preprocessing_at_level(raw, codec, per_channel=scaling == "channel")


def _compress(job: _Job, output: Path, raw: mne.io.BaseRaw | None = None) -> dict:
    """Compress the job's recording (``raw``, where already read) to ``output``; the index values."""
    from mne_dac.io.container import read_header, write_raw_dac

    raw = _read_input(job) if raw is None else raw
    codec = _worker_codec(job.codec, job.device)
    output.parent.mkdir(parents=True, exist_ok=True)  # write_raw_dac removes what a killed run left
    preprocessing = _preprocessing(job, raw)
    write_raw_dac(
        output, raw, codec=codec, n_codebooks=job.n_codebooks, overwrite=True, max_clipped=job.max_clipped,
        max_error=job.max_error, bits_per_second=job.bits_per_second, restore_bands=job.restore_bands,
        preprocessing=preprocessing, **group_kwargs(job.groups),
    )  # fmt: skip
    header = read_header(output)
    inputs = {Path(job.input)} | {Path(f) for f in raw.filenames if f is not None}
    values = dict(_header_values(header), input_bytes=sum(f.stat().st_size for f in inputs if f.is_file()))
    if job.fidelity:
        try:
            values.update(_fidelity(raw, output, header, None if header.transform is not None else codec))
        except Exception as err:  # noqa: BLE001 - e.g. too short for the spectrogram loss
            values["error"] = f"fidelity not measured: {_one_line(err)}"
    return values


def _header_values(header: EEGDACHeader) -> dict:
    """Index values read from an ``.eegdac`` header."""
    return {
        "duration_s": header.duration,
        "n_channels": len(header.ch_names) + len(header.other_ch_names),
        "n_eeg_channels": len(header.ch_names),
        "codec": header.coding if header.transform is not None else header.codec.describe(),
        "bits_per_second": header.bits_per_second,
        "coded_bits_per_second": header.coded_bits_per_second,
        "clipped_share": header.clipped_share,
        "output_bytes": header.file_size,
        "compression_ratio": header.file_compression_ratio,
    }


def _fidelity(raw: Any, output: Path, header: EEGDACHeader, codec: DACCodec | None) -> dict:
    """Spectrogram loss and PRD of the decoded file against the high-passed EEG, or the EEG as it is under a residual
    layer (``codec``: the file's, ``None`` for a transform code). The spectrogram loss scales the EEG as the paper
    does (±200 µV to ±1) for every file."""
    import numpy as np

    from mne_dac.io.container import read_raw_dac
    from mne_dac.signal.metrics import fidelity_report
    from mne_dac.signal.preprocessing import PreprocessingSettings

    eeg = header.ch_names
    reconstruction = read_raw_dac(output, codec)
    reference = raw.copy().pick(eeg)
    highpass = header.preprocessing.highpass if header.residual is None else None
    if highpass is not None:
        reference.filter(
            highpass,
            None,
            picks=np.arange(len(eeg)),
            method="iir",
            iir_params={"order": 4, "ftype": "butter", "output": "sos"},
            verbose="error",
        )
    report = fidelity_report(reference, reconstruction, codec_sfreq=header.codec_sfreq,
                             clip=PreprocessingSettings().clip, ch_names=eeg)  # fmt: skip
    return {"spectrogram_loss": report.overall["spectrogram_loss"], "prd": report.overall["prd"]}


def _one_line(err: BaseException) -> str:
    text = str(err) if isinstance(err, UnreadableRecordingError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split())
