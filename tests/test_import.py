"""``import mne_dac`` is fast: torch, dac and MNE load lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from mne_dac.utils._moved import MOVED_MODULES

CODE = """
import sys, time
t = time.perf_counter()
import mne_dac
elapsed = time.perf_counter() - t
heavy = [m for m in ("torch", "dac", "audiotools", "mne", "braindecode") if m in sys.modules]
print(elapsed, ",".join(heavy))
"""


def test_import_is_lazy():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    elapsed, heavy = out.stdout.split()[0], out.stdout.split()[1:]
    assert heavy == [], f"import mne_dac imported {heavy}"
    assert float(elapsed) < 1.0


def test_public_api():
    import mne_dac

    for name in mne_dac.__all__:
        assert getattr(mne_dac, name) is not None
    assert mne_dac.__version__


def test_public_names_of_the_issue_still_import():
    from mne_dac import (  # noqa: F401
        DACCodec,
        DACMCCodec,
        DACRoundTrip,
        DACTokenizer,
        compress_dir,
        load_codec,
        read_raw_dac,
        reconstruct_raw,
        roundtrip_windows,
        tokenize_raw,
        tokenize_windows,
        write_raw_dac,
    )
    from mne_dac.training import CodecTrainer  # noqa: F401


def test_training_reexports_the_trainer():
    import mne_dac.training
    import mne_dac.training.trainer

    assert sorted(mne_dac.training._TRAINER) == sorted(mne_dac.training.trainer.__all__)
    assert mne_dac.training.CodecTrainer is mne_dac.training.trainer.CodecTrainer


@pytest.mark.parametrize("old", sorted(MOVED_MODULES))
def test_old_module_paths_warn_and_forward(old):
    new = importlib.import_module(MOVED_MODULES[old])
    sys.modules.pop(f"mne_dac.{old}", None)
    with pytest.warns(FutureWarning, match=f"mne_dac.{old} moved to {MOVED_MODULES[old]}") as record:
        exec(compile(f"import mne_dac.{old}", __file__, "exec"), {})  # an import statement in this file
    assert sys.modules[f"mne_dac.{old}"] is new
    assert record[0].filename == __file__  # the warning points at the importing line
    package = importlib.import_module("mne_dac")
    vars(package).pop(old, None)  # the import system set it; without it, attribute access forwards too
    with pytest.warns(FutureWarning, match=f"mne_dac.{old} moved"):
        assert getattr(package, old) is new
