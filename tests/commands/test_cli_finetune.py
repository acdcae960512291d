"""``mne-dac finetune``: train a codec on EEG from the command line (tiny codecs, few steps)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch

from mne_dac import load_codec
from mne_dac.codecs.codec_file import read_codec_file
from mne_dac.commands import build_parser, main
from mne_dac.evaluation.datasets import excerpt_fnames

#: A tiny codec and two one-step epochs on 3 s crops: a few seconds on one CPU core.
TINY = [
    "--crop", "3", "--batch-size", "2", "--steps", "2", "--steps-per-epoch", "1", "--no-gan",
    "--threads", "1", "--quiet",
]  # fmt: skip
SCRATCH = ["--init", "scratch", "--encoder-dim", "4", "--decoder-dim", "16", "--n-codebooks", "3",
           "--codebook-size", "256"]  # fmt: skip


@pytest.fixture(autouse=True)
def _restore_threads():
    """``--threads`` sets torch's thread count for the process: restore it."""
    n_threads = torch.get_num_threads()
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture
def data_dir(tmp_path):
    """A folder holding one shipped eegmat recording (21 channels, 60 s)."""
    folder = tmp_path / "eeg"
    folder.mkdir()
    shutil.copy(excerpt_fnames(0, "rest")[0], folder)
    return folder


def _history(workdir):
    return json.loads((workdir / "history.json").read_text())


def test_finetune_scratch_then_resume(tmp_path, data_dir, capsys):
    out = tmp_path / "eeg-codec.pt"
    workdir = tmp_path / "eeg-codec.pt.work"
    assert main(["finetune", str(data_dir), *SCRATCH, *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 in all, 2 steps" in printed and "Best validation PRD: n/a" in printed and "wall time" in printed
    assert "Initialising the scratch codec from training crops" in printed
    codec = load_codec(out, device="cpu")
    assert codec.n_codebooks == 3 and codec.codebook_size == 256 and codec.sfreq == 256  # the recipe's rate
    assert codec.hop_length == 64 and codec.model.encoder_rates == [2, 2, 4, 4]
    assert codec.name == "eeg-codec"
    meta = read_codec_file(out).metadata["training"]
    assert meta["epochs"] == 2 and meta["steps"] == 2 and meta["init"] == "scratch" and not meta["gan"]
    assert meta["command"].startswith("mne-dac finetune ")
    assert meta["data_init"] and meta["waveform_loss"] == "relative-mse" and meta["lambda_mel"] == 0
    assert meta["lambda_spectral"] == 3 and meta["codebook_update"] == "ema" and meta["curve"][-1]["epoch"] == 2
    assert (tmp_path / "eeg-codec_history.png").stat().st_size > 0
    assert len(_history(workdir)) == 2

    # a second run must not clobber the output nor the checkpoint silently
    assert main(["finetune", str(data_dir), *SCRATCH, *TINY, "--out", str(out)]) == 1
    assert "exists; use --overwrite" in capsys.readouterr().err
    moved = out.rename(tmp_path / "first.pt")
    assert main(["finetune", str(data_dir), *SCRATCH, *TINY, "--out", str(out)]) == 1
    assert "use --resume" in capsys.readouterr().err
    moved.rename(out)

    # --resume continues the checkpoint up to --steps in all: two more epochs
    args = [*SCRATCH, *TINY, "--out", str(out), "--overwrite", "--resume"]
    assert main(["finetune", str(data_dir), *args, "--steps", "4"]) == 0
    assert "Trained the whole codec for 2 epochs this run (4 in all" in capsys.readouterr().out
    history = _history(workdir)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert read_codec_file(out).metadata["training"]["epochs"] == 4
    # resuming with another architecture is refused clearly
    wrong = [a if a != "3" else "4" for a in SCRATCH]  # --n-codebooks 4
    assert main(["finetune", str(data_dir), *wrong, *TINY, "--out", str(out), "--overwrite", "--resume"]) == 1
    assert "does not fit" in capsys.readouterr().err
    # --overwrite without --resume starts over; the loss options, the plain DAC init and the default depth are recorded
    options = ["--no-data-init", "--waveform-loss", "l1", "--lambda-spectral", "0", "--codebook-update", "gradient",
               "--default-n-codebooks", "2"]  # fmt: skip
    assert main(["finetune", str(data_dir), *SCRATCH, *TINY, *options, "--out", str(out), "--overwrite"]) == 0
    assert "Initialising the scratch codec" not in capsys.readouterr().out
    assert len(_history(workdir)) == 2
    meta = read_codec_file(out).metadata["training"]
    assert not meta["data_init"] and meta["waveform_loss"] == "l1" and meta["lambda_spectral"] == 0
    assert meta["codebook_update"] == "gradient"
    assert load_codec(out, device="cpu").default_n_codebooks == 2


def test_finetune_from_dac_checkpoint(tmp_path, data_dir, tiny_dac_checkpoint, capsys):
    """--init PATH continues a DAC checkpoint, pre-pruned to --n-codebooks; validation; time budget."""
    out = tmp_path / "pruned.pt"
    valid = excerpt_fnames(1, "rest")[0]
    args = ["finetune", str(data_dir), "--init", str(tiny_dac_checkpoint), "--n-codebooks", "2", *TINY]
    args += ["--out", str(out), "--valid", str(valid), "--valid-crops", "2", "--exclude", "ECG ECG", "--minutes", "0"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Best validation PRD: " in printed and "Stopped before the 2 epochs" in printed
    codec = load_codec(out, device="cpu")
    assert codec.n_codebooks == 2 and codec.codebook_size == 512
    meta = read_codec_file(out).metadata["training"]
    assert meta["pre_pruned_to"] == 2 and meta["best_valid_mel"] > 0 and meta["epochs"] == 1
    assert len(meta["valid"]) == 1


def test_finetune_codec_trains_its_decoder(tmp_path, data_dir, tiny_codec_file, capsys):
    """--init an mne-dac codec trains its decoder alone, so its tokens stay; --train all trains all of it."""
    out = tmp_path / "adapted.pt"
    args = ["finetune", str(data_dir), "--init", str(tiny_codec_file), *TINY, "--out", str(out), "--overwrite"]

    def changed():
        before, after = load_codec(tiny_codec_file).model.state_dict(), load_codec(out).model.state_dict()
        return {k.split(".")[0] for k in after if not torch.equal(before[k], after[k])}

    assert main(args) == 0
    assert "Trained the decoder alone for 2 epochs" in capsys.readouterr().out
    assert changed() == {"decoder"} and read_codec_file(out).metadata["training"]["trainable"] == "decoder"
    assert main([*args, "--codebook-update", "gradient"]) == 1
    assert "codebook_update only apply to training the whole codec" in capsys.readouterr().err
    assert main([*args, "--train", "all"]) == 0
    assert {"encoder", "quantizer"} <= changed() and "Trained the whole codec" in capsys.readouterr().out


def test_finetune_resume_keeps_what_it_trains(tmp_path, data_dir, tiny_codec_file, capsys):
    """A checkpoint of the decoder alone resumes only as such, and one of the whole codec likewise, with a clear error."""
    out, workdir = tmp_path / "adapted.pt", tmp_path / "wd"
    args = [
        "finetune",
        str(data_dir),
        "--init",
        str(tiny_codec_file),
        *TINY,
        "--out",
        str(out),
        "--workdir",
        str(workdir),
    ]
    assert main(args) == 0
    resume = [*args, "--steps", "4", "--resume", "--overwrite"]
    assert main([*resume, "--train", "all"]) == 1
    assert "trained the decoder alone: resume it with --train decoder" in capsys.readouterr().err
    assert main(resume) == 0
    assert main([*args, "--train", "all", "--overwrite"]) == 0
    assert main(resume) == 1
    assert "trained the whole codec: resume it with --train all" in capsys.readouterr().err


def test_finetune_errors(tmp_path, data_dir, tiny_codec_file, capsys):
    out = tmp_path / "c.pt"

    def error(*args):
        assert main(["finetune", *args]) == 1
        return capsys.readouterr().err

    assert "No such training file or folder" in error(str(tmp_path / "missing"), *SCRATCH, "--out", str(out))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no EEG here")
    assert "No training EEG" in error(str(empty), *SCRATCH, "--out", str(out))
    bad = tmp_path / "bad" / "rec.edf"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00" * 300)
    assert "Could not read training" in error(str(bad), *SCRATCH, "--out", str(out))
    missing_valid = ["--valid", str(tmp_path / "nope")]
    assert "No such validation file" in error(str(data_dir), *SCRATCH, "--out", str(out), *missing_valid)
    out.write_bytes(b"")
    assert "exists; use --overwrite" in error(str(data_dir), *SCRATCH, "--out", str(out))
    out.unlink()
    assert "init must be a DAC tag" in error(str(data_dir), "--init", str(tmp_path / "nope.pt"), "--out", str(out))
    assert "only with init 'scratch'" in error(
        str(data_dir), "--init", str(tiny_codec_file), "--codebook-size", "64", "--out", str(out)
    )
    assert "mel loss needs" in error(str(data_dir), *SCRATCH, "--lambda-mel", "15", "--crop", "1", "--out", str(out))
    err = error(str(data_dir), *SCRATCH, "--steps", "10", "--epochs", "3", "--steps-per-epoch", "2", "--out", str(out))
    assert "give two of the three" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "options, expected",
    [
        ([], (50, 200)),  # defaults: 10 000 steps in epochs of 50 (the recipe's)
        (["--steps", "250"], (50, 5)),
        (["--steps", "6", "--steps-per-epoch", "2"], (2, 3)),
        (["--epochs", "5"], (50, 5)),
        (["--epochs", "4", "--steps", "10"], (3, 4)),
        (["--epochs", "4", "--steps", "8", "--steps-per-epoch", "2"], (2, 4)),
    ],
)
def test_steps_and_epochs(options, expected):
    from mne_dac.training.finetune import steps_and_epochs

    args = build_parser().parse_args(["finetune", "data", "--init", "scratch", "--out", "c.pt", *options])
    assert steps_and_epochs(args.steps, args.epochs, args.steps_per_epoch) == expected


def test_finetune_linear_code_is_the_default_recipe(tmp_path, data_dir, monkeypatch, capsys):
    """Without --init, finetune builds the default codec's recipe (LINEAR_CODE): the same weights as
    build_linear_codec with those settings, the validation figures printed and saved; gradient options refused."""
    import mne

    from mne_dac.training.linear_code import build_linear_codec
    from mne_dac.training.recipe import LINEAR_CODE

    small = dict(max_frames=3000, beam_width=4, n_codebooks=4)  # the recipe, with a small sample and beam
    for key, value in small.items():
        monkeypatch.setitem(LINEAR_CODE, key, value)
    out, valid = tmp_path / "linear.pt", excerpt_fnames(1, "rest")[0]
    exclude = ["ECG ECG", "EEG A2-A1"]  # EDF types them EEG
    args = ["finetune", str(data_dir), "--out", str(out), "--steps", "2", "--valid", str(valid), "--exclude", *exclude,
            "--threads", "1"]  # fmt: skip
    assert main([*args, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Built a linear code of" in printed
    assert re.search(r"Validation at 89.\d bits/s per channel \(4 codebooks, 1.\d bits/s of them the tokens' band gains\): PRD",
                     printed)  # fmt: skip
    codec = load_codec(out, device="cpu")
    assert codec.hop_length == 128 and codec.default_n_codebooks == 4 and codec.name == "linear"
    meta = read_codec_file(out).metadata["training"]
    assert meta["init"] == "linear-code" and meta["settings"]["decoder_steps"] == 2 and len(meta["frame_prd"]) == 4
    assert 0 < meta["validation"]["prd"] < 100 and meta["validation"]["codes_used"] > 100
    assert meta["command"].startswith("mne-dac finetune ")

    raw = mne.io.read_raw(next(data_dir.iterdir()), verbose="error")
    raw.info["bads"] = exclude
    torch.manual_seed(0)
    direct = build_linear_codec([raw], **{**LINEAR_CODE, "decoder_steps": 2}, progress=False, verbose=False).codec
    assert direct.identity.weights_sha256 == codec.identity.weights_sha256  # bit for bit

    assert main([*args, "--overwrite", "--lr", "1e-4", "--batch-size", "4"]) == 1
    assert "batch_size, lr only apply to gradient training" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--codebook-size", "64"]) == 1
    assert "keeps the recipe's architecture: codebook_size" in capsys.readouterr().err
