"""The scripts of benchmarks/paper/, end to end on generated TUH and eegmat trees with tiny codecs."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import mne
import pandas as pd
import pytest
import torch
from conftest import TINY_DAC

from mne_dac.evaluation.testing import make_eegmat_tree, make_tuab_tree, make_tuep_tree

SCRIPTS = Path(__file__).resolve().parents[1] / "benchmarks" / "paper"

#: Tiny training runs (two one-step epochs), fidelity on 5 s of 4 channels.
TRAIN = ["--steps", "2", "--steps-per-epoch", "1", "--batch-size", "2", "--crop", "4.1", "--no-gan", "--threads", "1"]
FIDELITY = ["--seconds", "5", "--channels", "Fp1", "T7", "Cz", "O2"]


def load_script(name: str):
    """Import a script of benchmarks/paper/ from its file."""
    spec = importlib.util.spec_from_file_location(f"paper_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _restore_global_state():
    """The scripts set torch's thread count (``--threads``) and MNE's log level: restore them."""
    n_threads = torch.get_num_threads()
    log_level = mne.utils.logger.level
    yield
    torch.set_num_threads(n_threads)
    mne.set_log_level(log_level)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """Stand-in for DAC's audio weights: a tiny DAC saved as DAC's weights.pth (4 codebooks of 64)."""
    import dac

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)  # not the weights of --init scratch --seed 0
        model = dac.DAC(n_codebooks=4, codebook_size=64, **TINY_DAC)
    fname = tmp_path_factory.mktemp("dac") / "weights.pth"
    model.save(str(fname), package=False)
    return fname


@pytest.fixture(scope="module")
def tuab_root(tmp_path_factory) -> Path:
    """8 TUAB recordings of 16 s: per split, 2 normal and 2 abnormal."""
    return make_tuab_tree(tmp_path_factory.mktemp("tuab"), n_per_class=1, duration=16)


@pytest.fixture(scope="module")
def tuep_root(tmp_path_factory) -> Path:
    """8 TUEP recordings of 16 s of 4 subjects, one subject per class held out."""
    return make_tuep_tree(tmp_path_factory.mktemp("tuep"), n_per_class=2, duration=16)


@pytest.fixture(scope="module")
def eegmat_root(tmp_path_factory) -> Path:
    """8 eegmat recordings of 16 s, subject 23 held out."""
    return make_eegmat_tree(tmp_path_factory.mktemp("eegmat"), n_subjects=4, duration=16)


def _finite(values) -> bool:
    values = list(values)
    return bool(values) and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def test_table1a(tmp_path, tuab_root, weights, capsys):
    paths = load_script("table1a").main(
        ["--tuab", str(tuab_root), "--init", str(weights), "--out", str(tmp_path / "out"), *TRAIN, *FIDELITY]
    )
    printed = capsys.readouterr().out
    assert "| Codec | Start |" in printed and "Paper (TUAB eval)" in printed
    markdown = paths["md"].read_text()
    assert "see paper" in markdown and "arXiv:2511.23142" in markdown
    table = pd.read_csv(paths["csv"])
    assert table["Codec"].tolist() == ["pretrained", "fine-tuned", "scratch"]
    assert set(table["Paper (TUAB eval)"]) == {"see paper"}
    assert table["Start"].str.contains("weights.pth").sum() == 2
    result = json.loads(paths["json"].read_text())
    rows = pd.DataFrame(result["per_recording"])
    assert len(rows) == 3 * 4  # 3 codecs x 4 evaluation recordings
    assert _finite(rows["spectrogram_loss"]) and _finite(rows["prd"]) and (rows["spectrogram_loss"] > 0).all()
    assert paths["png"].stat().st_size > 0
    assert (tmp_path / "out" / "work" / "table1a" / "scratch.pt").is_file()


def test_table1b(tmp_path, tuab_root, tuep_root, weights):
    downstream = ["--model", "shallow", "--seeds", "0", "--n-epochs", "1", "--window-seconds", "4", "--sfreq", "32"]
    argv = ["--tuab", str(tuab_root), "--tuep", str(tuep_root), "--init", str(weights), "--out", str(tmp_path)]
    paths = load_script("table1b").main(
        [*argv, *TRAIN, "--channels", "Fp1", "F7", "F4", "C3", "Cz", "P4", "P8", "O1", *downstream, "--tokens"]
    )
    table = pd.read_csv(paths["csv"], dtype=str)
    assert table["Input"].tolist() == [
        "original EEG",
        "DAC-SC",
        "DAC-MC, random groups",
        "DAC-MC, anatomical groups",
        "single-channel decoding",
        "DAC-SC tokens",
    ]
    assert {"TUAB recon → recon", "TUAB orig → recon", "TUEP recon → recon", "Paper TUAB", "Paper TUEP"} <= set(table)
    paper = table.set_index("Input")[["Paper TUAB", "Paper TUEP"]]
    assert paper.loc["DAC-SC"].tolist() == ["83", "80"]
    assert paper.loc["DAC-MC, random groups"].tolist() == ["78", "85"]
    assert paper.loc["single-channel decoding"].tolist() == ["see paper", "see paper"]
    # group layout: 4 codebooks of 64 (24 bits/s) per group stream, fewer bits per channel
    bits = table.set_index("Input")["Bits/s/channel"]
    assert bits["DAC-SC"] == "24" and bits["single-channel decoding"] == "24"
    assert float(bits["DAC-MC, random groups"]) < 24
    results = pd.DataFrame(json.loads(paths["json"].read_text())["results"])
    assert set(results["corpus"]) == {"TUAB", "TUEP"}
    assert results["balanced_accuracy"].between(0, 1).all()
    # per corpus: 6 conditions trained and tested on themselves, plus orig -> each of the 4 reconstructions
    assert len(results) == 2 * (6 + 4)
    assert paths["png"].stat().st_size > 0
    assert any((tmp_path / "work" / "tokens").rglob("*.eegdac"))


def test_figure3(tmp_path, eegmat_root, weights):
    argv = ["--eegmat", str(eegmat_root), "--init", str(weights), "--out", str(tmp_path)]
    panels = ["--depths", "3", "4", "--sfreqs", "256", "512", "--vocabularies", "64", "--valid-crops", "2"]
    paths = load_script("figure3").main([*argv, *TRAIN, *FIDELITY, *panels, "--gan-epochs", "1"])
    assert set(paths) == {"a", "b", "c"}
    for panel, files in paths.items():
        assert files["png"].stat().st_size > 0
        assert f"see paper (Fig. 3{panel})" in files["md"].read_text()
    curves = pd.DataFrame(json.loads(paths["a"]["json"].read_text())["curves"])
    assert curves["run"].unique().tolist() == [
        "fine-tuned, GAN",
        "fine-tuned, no GAN",
        "scratch, GAN",
        "scratch, no GAN",
    ]
    assert _finite(curves["valid_loss"]) and curves["step"].tolist() == [1, 2] * 4
    assert curves.loc[curves.run.str.endswith(", GAN"), "gan_active"].tolist() == [True, False] * 2
    depth = pd.DataFrame(json.loads(paths["b"]["json"].read_text())["per_recording"])
    assert sorted(set(zip(depth["pruning"], depth["depth"]))) == [
        ("post-pruned", 3), ("post-pruned", 4), ("pre-pruned", 3), ("pre-pruned", 4)
    ]  # fmt: skip
    assert _finite(depth["spectrogram_loss"])
    rates = pd.DataFrame(json.loads(paths["c"]["json"].read_text())["per_recording"])
    assert rates.groupby("sfreq")["bits_per_second"].first().to_dict() == {256: 12.0, 512: 24.0}
    assert _finite(rates["spectrogram_loss"])
    # runs shared by panels are trained once: (b)'s 4-codebook run and (c)'s 512 Hz run come from (a)
    trained = sorted(p.name for p in (tmp_path / "work" / "figure3").glob("*.pt"))
    assert trained == [
        "a-fine-tuned-gan.pt", "a-fine-tuned-nogan.pt", "a-scratch-gan.pt", "a-scratch-nogan.pt",
        "b-pre-pruned-3.pt", "c-256hz-64.pt",
    ]  # fmt: skip


def test_initial_codec_falls_back_offline(monkeypatch, capsys):
    load_script("table1a")  # puts benchmarks/paper on the path
    common = sys.modules["_common"]

    def offline(tag, download=True):
        raise OSError("Could not download the DAC '44khz' weights (ConnectionError)")

    monkeypatch.setattr("mne_dac.codecs.loading._dac_weights_path", offline)
    init = common.initial_codec("44khz")
    assert init.fallback and init.argument == "default-2026.11" and "stand-in" in init.label
    assert init.codec.name == "default-2026.11"
    assert "cannot be loaded here" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="No codec file"):
        common.initial_codec("/no/such/weights.pth")


def test_options_and_paper_numbers(tmp_path):
    load_script("table1a")
    common = sys.modules["_common"]
    assert common.paper_value("table1b", "TUEP", "DAC-MC", "{:.0f}") == "85"
    assert common.paper_value("table1b", "TUAB", "DAC-SC") == "83"
    assert common.paper_value("table1a", "TUAB", "scratch") == "see paper"
    with pytest.raises(SystemExit):
        load_script("table1a").main(["--channels", "Fp1", "XX", "--out", str(tmp_path)])
    table = pd.DataFrame({"name": ["a", "b"], "value": ["1.0 ± 0.1", "–"]})
    assert common.markdown_table(table).splitlines()[1] == "|---|---:|"
    assert common.mean_std(pd.Series([1.0, 3.0]), "{:.1f}") == "2.0 ± 1.4"
