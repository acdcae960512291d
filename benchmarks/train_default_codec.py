"""Train the codec shipped with mne-dac (``load_codec("default")``).

The compact DAC (``encoder_dim=16, decoder_dim=128``, 2 M parameters, DAC's hop of 512
at 512 Hz: one frame per second, 9 codebooks of 1024 entries, 90 bits/s per channel) is
trained from scratch (DAC's audio weights cannot be fetched here) on the eegmat
recordings in ``../shared/data/eegmat``. Subjects 20–23 are held out for validation,
subjects 0–19 train. Crops are drawn channel by channel after the paper's
preprocessing. Training resumes from ``--workdir`` when run again.

Reproduce the shipped codec (on a 2-core CPU; use ``--device cuda`` on a GPU)::

    python benchmarks/train_default_codec.py --minutes 55 --threads 1 --workdir train-nogan
    python benchmarks/train_default_codec.py --minutes 55 --threads 1 --workdir train-gan \\
        --gan-epochs 8 --gan-periods 2 3 5 --gan-fft-sizes 256 128
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import mne
import torch
from skorch.helper import predefined_split

from mne_dac import load_codec
from mne_dac.crops import RandomCropDataset
from mne_dac.training import CodecTrainer, TimeBudget, checkpoint_callbacks, plot_history

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SUBJECTS = list(range(0, 20))
VALID_SUBJECTS = [20, 21, 22, 23]


def read_eegmat(folder: Path, subjects: list[int]) -> list[mne.io.BaseRaw]:
    """Both recordings of each subject, ECG and the A2-A1 derivation typed as non-EEG."""
    raws = []
    for subject in subjects:
        for run in (1, 2):
            raw = mne.io.read_raw_edf(folder / f"Subject{subject:02d}_{run}.edf", preload=True, verbose="error")
            raw.set_channel_types({"ECG ECG": "ecg", "EEG A2-A1": "misc"}, verbose="error")
            raws.append(raw)
    return raws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "eegmat")
    parser.add_argument("--workdir", type=Path, default=Path("train-default"))
    parser.add_argument("--out", type=Path, default=None, help="codec file (default: WORKDIR/codec.pt)")
    parser.add_argument("--minutes", type=float, default=55.0, help="wall-clock budget of this run")
    parser.add_argument("--max-epochs", type=int, default=1000)
    parser.add_argument("--steps-per-epoch", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop", type=float, default=10.0, help="crop duration in seconds")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--lambda-waveform", type=float, default=1.0, help="weight of the waveform L1 loss")
    parser.add_argument("--gan-epochs", type=int, default=0, help="epochs of the GAN phase (0: no GAN)")
    parser.add_argument("--gan-periods", type=int, nargs="+", default=[2, 3, 5, 7, 11])
    parser.add_argument("--gan-fft-sizes", type=int, nargs="+", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.out or args.workdir / "codec.pt"

    codec = load_codec("random", seed=args.seed, device=args.device)  # the compact DAC
    train = RandomCropDataset(
        read_eegmat(args.data, TRAIN_SUBJECTS), crop_duration=args.crop,
        n_crops=args.steps_per_epoch * args.batch_size, seed=args.seed,
    )  # new crops every epoch (CodecTrainer's FreshCrops callback)
    # A fixed validation set: the same crops every epoch.
    valid = RandomCropDataset(read_eegmat(args.data, VALID_SUBJECTS), crop_duration=args.crop, n_crops=64, seed=10_000)
    gan = args.gan_epochs > 0
    net = CodecTrainer.from_codec(
        codec,
        lr=args.lr,
        lambda_waveform=args.lambda_waveform,
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        train_split=predefined_split(valid),
        gan=gan,
        gan_stop_epoch=args.gan_epochs if gan else 0,
        gan_periods=tuple(args.gan_periods),
        gan_fft_sizes=args.gan_fft_sizes,
        iterator_train__shuffle=True,
        callbacks=[
            *checkpoint_callbacks(args.workdir / "checkpoint", gan=gan, monitor=None),
            TimeBudget(args.minutes),
        ],
    )
    start = time.monotonic()
    net.fit(train)
    wall = time.monotonic() - start

    history = net.history
    provenance = dict(
        data="PhysioNet eegmat 1.0.0 (Zyma et al. 2019), ODC-By 1.0",
        train_subjects=TRAIN_SUBJECTS,
        valid_subjects=VALID_SUBJECTS,
        crop_seconds=args.crop,
        batch_size=args.batch_size,
        lr=args.lr,
        lambda_waveform=args.lambda_waveform,
        epochs=len(history),
        steps=len(history) * args.steps_per_epoch,
        gan_epochs=args.gan_epochs,
        gan_periods=args.gan_periods if gan else None,
        gan_fft_sizes=args.gan_fft_sizes if gan else None,
        device=f"{args.device} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        wall_time_minutes_this_run=round(wall / 60, 1),
        wall_time_minutes_total=round(sum(h["dur"] for h in history) / 60, 1),
        best_valid_mel=min(h["valid_loss"] for h in history),
        final_valid_mel=history[-1, "valid_loss"],
        command="python benchmarks/train_default_codec.py " + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items() if v is not None and k not in ("data", "workdir", "out")
        ),
        commit=subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip(),
    )
    net.to_codec(name="default", device="cpu").save(out, overwrite=True, metadata=provenance)
    plot_history(net, args.workdir / "history.png")
    (args.workdir / "provenance.json").write_text(json.dumps(provenance, indent=2))
    print(json.dumps(provenance, indent=2))


if __name__ == "__main__":
    main()
