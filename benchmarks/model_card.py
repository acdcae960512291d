"""Write the model card of a trained codec from its training record and its evaluation.

Inputs: the codec file written by ``mne-dac finetune`` (its metadata holds the training
record), the JSON written by ``evaluate_codec.py --json`` (validation figures at every
depth, with the DCT and wavelet baselines and, with ``--compare``, other codecs), and
optionally the JSON of a GAN / no-GAN comparison evaluated the same way.

Usage::

    python benchmarks/model_card.py default.pt eval.json --gan gan_eval.json --out mne_dac/data/codecs/default.md
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
from pathlib import Path

import pandas as pd
import torch

HERE = Path(__file__).resolve().parent


def _evaluate_module():
    spec = importlib.util.spec_from_file_location("evaluate_codec", HERE / "evaluate_codec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _training(codec_file: Path) -> dict:
    payload = torch.load(codec_file, map_location="cpu", weights_only=True)
    return payload, payload["metadata"]["training"]


def _gan_section(gan: dict, evaluate) -> str:
    mean = pd.DataFrame(gan["mean"])
    codec = mean[mean.method == "codec"].set_index("n_codebooks")
    lines = [
        "| depth | bits/s | "
        + " | ".join(f"{label} spec loss | {label} PRD %" for label in ["with GAN", "no GAN"][: 1 + len(gan["others"])])
        + " |",
        "|" + "---:|" * (2 + 2 * (1 + len(gan["others"]))),
    ]
    table = mean.set_index(["method", "n_codebooks"])
    for k, row in codec.iterrows():
        cells = [str(k), f"{row['bits_per_second']:g}", f"{row['spectrogram_loss']:.3g}", f"{row['prd']:.3g}"]
        for label in gan["others"]:
            cells += [f"{table['spectrogram_loss'].get((label, k)):.3g}", f"{table['prd'].get((label, k)):.3g}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("codec", type=Path, help="codec file written by mne-dac finetune")
    parser.add_argument("evaluation", type=Path, help="JSON written by evaluate_codec.py --json")
    parser.add_argument("--gan", type=Path, help="JSON of evaluate_codec.py on the GAN-phase codec, --compare no-GAN")
    parser.add_argument("--gan-note", default="", help="how the GAN / no-GAN pair was trained")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    evaluate = _evaluate_module()
    payload, train = _training(args.codec)
    results = json.loads(args.evaluation.read_text())
    mean = pd.DataFrame(results["mean"])
    n_params = sum(v.numel() for k, v in payload["state_dict"].items() if "." in k)
    kw = payload["dac_kwargs"]
    bits = kw["n_codebooks"] * (kw["codebook_size"] - 1).bit_length()
    data = results["data"]
    codec_rows = mean[mean.method == "codec"].set_index("n_codebooks")
    dct = mean[mean.method == "dct"].set_index("n_codebooks")
    wins = int((codec_rows["spectrogram_loss"] < dct["spectrogram_loss"]).sum())
    gan = json.loads(args.gan.read_text()) if args.gan else None

    card = f"""# Model card: mne-dac's default codec

`mne_dac.load_codec("default")`: a compact DAC-SC codec for EEG, trained from scratch by
mne-dac's trainer. Written by `benchmarks/model_card.py` on {datetime.date.today()}.

## What it is
- **Architecture:** `dac.DAC` with encoder_dim {kw['encoder_dim']}, decoder_dim {kw['decoder_dim']},
  latent_dim {kw['latent_dim']}, encoder rates {kw['encoder_rates']} (hop 512), {n_params / 1e6:.2f} M
  parameters, {kw['n_codebooks']} residual codebooks of {kw['codebook_size']} entries (codebook dim
  {kw['codebook_dim']}).
- **Rate:** EEG at {payload['sfreq']:g} Hz: one frame per second, {bits} bits/s per channel with all
  codebooks; each codebook fewer saves {(kw['codebook_size'] - 1).bit_length()} bits/s.
- **Preprocessing:** the paper's: resample to {payload['sfreq']:g} Hz, 0.1 Hz high-pass, clip at
  ±200 µV, scale to [-1, 1] (`{payload['preprocessing']}`).

## Data and license
PhysioNet *EEG during mental arithmetic tasks* (eegmat) 1.0.0, Zyma et al. (2019),
<https://physionet.org/content/eegmat/1.0.0/>, Open Data Commons Attribution License v1.0
(ODC-By 1.0). 19 EEG channels of the 10-20 system at 500 Hz, referenced to linked ears
(ECG and the A2-A1 channel left out), one rest (180 s) and one arithmetic (60 s) recording per
subject.
- **Split by subject:** subjects 00–19 train, 20–23 validate (every figure below).

## Training
- **Trainer:** `mne-dac finetune` (skorch `CodecTrainer`), init `{train['init']}`.
- **Objective:** DAC's multi-scale mel loss (weight 15) + waveform L1 (weight
  {train['lambda_waveform']:g}) + VQ commitment (0.25) and codebook (1) losses; quantizer dropout
  0.5; {"no GAN" if not train['gan'] else f"GAN for {train['gan_epochs']} epochs"}.
- **Optimisation:** AdamW (betas 0.8, 0.99), lr {train['lr']:g} with DAC's exponential decay,
  batches of {train['batch_size']} random single-channel crops of {train['crop_seconds']:g} s.
- **Budget:** {train['steps']} steps ({train['epochs']} epochs of {train['steps_per_epoch']} steps),
  {train['wall_time_minutes_total']:.0f} min on {train.get('device', 'cpu')}.
- **Validation mel loss:** best {train['best_valid_mel']:.3f}, final {train['final_valid_mel']:.3f}.
- **Retrain:** `benchmarks/train_default_codec.sh ../shared/data/eegmat default.pt` (it resumes
  from its checkpoint when rerun; `MINUTES=N` sets the time budget of a run).

## Validation figures
Validation subjects {data['subjects']}, both recordings each ({len(data['recordings'])} recordings), first
{data['seconds']:g} s, 19 EEG channels; metrics averaged over recordings: spectrogram loss (DAC's mel
loss, the paper's measure; lower is better), PRD (%), SNR (dB) and the mean relative band-power
error (delta to gamma). The DCT and wavelet baselines code the same preprocessed signals at the
same bits/s per channel, every bit counted (`mne_dac.baselines`).

{evaluate.markdown_table(mean, results['others'])}

{evaluate.floor_line(mean)}
The codec has a lower spectrogram loss than the DCT baseline at {wins} of {len(codec_rows)} depths.
"""
    if gan is not None:
        card += f"""
## With and without the GAN phase
{args.gan_note}

{_gan_section(gan, evaluate)}
"""
    card += """
## Limitations
- Trained on {hours} of healthy adults' artifact-free EEG from one system; clinical EEG (TUH),
  other montages and artifacts are out of its training distribution.
- **Spectrum, not waveform.** The codec reproduces the spectrogram (its loss is 4-5 times lower
  than DCT or wavelet coding at the same bitrate) but not the waveform: a PRD above 100 % and a
  negative SNR mean that a reconstruction is, sample by sample, no closer to the original than a
  flat line, and band powers are off by about 50 %. Transform coding keeps the waveform better
  (PRD 33 % at 90 bits/s). Use the codec's tokens and reconstructions for spectral and
  learned-feature work, not for waveform-level analyses (ERPs, spike morphology).
- **Undertrained.** Its quality barely changes with depth: the codebooks after the first add
  little after 650 steps. Fine-tune it on your data for longer (`mne-dac finetune --init
  default`), ideally on a GPU or from DAC's audio weights (`--init 44khz`), the paper's path.
- CPU-budget training: the paper fine-tunes DAC's audio weights on TUH for far longer.
""".replace("{hours}", "about 24 h (20 subjects × 19 channels × 4 min)")
    args.out.write_text(card)
    print(card)


if __name__ == "__main__":
    main()
