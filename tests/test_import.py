"""``import mne_dac`` is fast: torch, dac and MNE load lazily."""

from __future__ import annotations

import subprocess
import sys

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
