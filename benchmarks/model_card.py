"""Write the model card of a trained codec from its training record and its evaluation.

Inputs: the codec file written by ``mne-dac finetune`` (its metadata holds the training
record), the JSON written by ``evaluate_codec.py --json`` (validation figures at every
depth, with the DCT and wavelet baselines and, with ``--compare``, other codecs), and
optionally the JSON of a GAN / no-GAN comparison evaluated the same way.

Usage::

    python benchmarks/model_card.py default.pt eval.json --phase1 default-phase1.pt --classify classify.json \
        --out default.md
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import evaluate_codec  # benchmarks/evaluate_codec.py: the script's folder is on sys.path
import numpy as np
import pandas as pd

from mne_dac.codecs.codec_file import read_codec_file


def _training(codec_file: Path) -> dict:
    content = read_codec_file(codec_file)
    payload = {**content.config.to_dict(), "state_dict": content.state_dict, "metadata": content.metadata}
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


def _init_line(train: dict) -> str:
    if train["init"] != "scratch":
        return f"the weights of `{Path(train['init']).name}`."
    if train.get("data_init", False):
        return (
            "DAC's random init rescaled on training crops (`mne_dac.training.data_init.init_from_data`: LSUV "
            "gains, codebooks drawn from the data), against codebook collapse."
        )
    return "DAC's random init."


def _objective_line(train: dict) -> str:
    kind = {"l1": "L1", "relative-mse": "relative MSE (PRD²)"}[train.get("waveform_loss", "l1")]
    terms = [f"waveform {kind} (weight {train['lambda_waveform']:g})"]
    if train.get("lambda_spectral", 0.0):
        terms.append(f"band-balanced STFT magnitude loss (weight {train['lambda_spectral']:g})")
    if train.get("lambda_mel", 15.0):
        terms.insert(0, f"DAC's multi-scale mel loss (weight {train.get('lambda_mel', 15.0):g})")
    if train.get("codebook_update", "gradient") == "ema":
        terms.append(
            "VQ commitment loss (0.25); codebooks updated as moving averages of their latents (online k-means)"
        )
    else:
        terms.append("VQ commitment (0.25) and codebook (1) losses")
    text = " + ".join(terms)
    restart = train.get("restart_dead_codes", 0.0)
    if restart:
        text += f"; entries used less than {restart:g} × the uniform rate restarted from the batch"
    return text


def _phase_lines(train: dict) -> str:
    gan = "no GAN" if not train["gan"] else f"GAN for {train['gan_epochs']} epochs"
    return f"""  - **Initialisation:** {_init_line(train)}
  - **Objective:** {_objective_line(train)}; quantizer dropout 0.5; {gan}.
  - **Optimisation:** AdamW (betas 0.8, 0.99), lr {train["lr"]:g} with DAC's exponential decay,
    batches of {train["batch_size"]} random single-channel crops of {train["crop_seconds"]:g} s.
  - **Budget:** {train["steps"]} steps ({train["epochs"]} epochs of {train["steps_per_epoch"]} steps),
    {train["wall_time_minutes_total"]:.0f} min on {train.get("device", "cpu")}.
  - **Validation:** {_validation_line(train)}"""


def _validation_line(train: dict) -> str:
    if train.get("best_valid_prd") is not None:
        return f"PRD best {train['best_valid_prd']:.1f} %, final {train['final_valid_prd']:.1f} % (64 crops of 5 s)."
    return f"mel loss best {train['best_valid_mel']:.3f}, final {train['final_valid_mel']:.3f}."


def _curve_section(phases: list[dict]) -> str:
    """The validation PRD, band errors and codebook use along training, every tenth of the run."""
    rows, done = [], 0
    for i, train in enumerate(phases, 1):
        curve = train.get("curve", [])
        keep = sorted({len(curve) - 1, *range(0, len(curve), max(1, len(curve) // 10))}) if curve else []
        for j in keep:
            row = curve[j]
            errors = " / ".join(f"{row.get(f'valid_err_{b}', np.nan):.2f}" for b in ("delta", "theta", "alpha", "beta"))
            step = done + (j + 1) * train["steps_per_epoch"]
            prd = row.get("valid_prd", np.nan)
            rows.append(f"| {i} | {step} | {prd:.1f} | {errors} | {row.get('train_codes_used', '–')} |")
        done += train["steps"]
    if not rows:
        return ""
    return "\n".join(
        [
            "| phase | step | valid PRD % | band error δ / θ / α / β | fewest entries used |",
            "|---:|---:|---:|---|---:|",
            *rows,
        ]
    )


def _classify_section(classify: dict) -> str:
    table = pd.DataFrame(classify["rows"])
    lines = ["| coder | scheme | balanced accuracy % | points vs original |", "|---|---|---:|---:|"]
    for row in table.itertuples():
        lines.append(f"| {row.coder} | {row.scheme} | {row.accuracy:.1f} | {row.delta_points:+.1f} |")
    return "\n".join(lines)


def _training_section(phases: list[dict]) -> str:
    """One block per training phase (``mne-dac finetune`` run), in order."""
    lines = ["- **Trainer:** `mne-dac finetune` (skorch `CodecTrainer`)."]
    for i, train in enumerate(phases, 1):
        lines.append(f"- **Phase {i}** of {len(phases)}:" if len(phases) > 1 else "- **Run:**")
        lines.append(_phase_lines(train))
    return "\n".join(lines)


def _usage_line(results: dict) -> str:
    usage = pd.DataFrame(results.get("codebook_usage", []))
    if usage.empty:
        return "not measured."
    return (
        f"{usage['n_used'].min():.0f}–{usage['n_used'].max():.0f} distinct entries per codebook and recording "
        f"(perplexity {usage['perplexity'].min():.0f}–{usage['perplexity'].max():.0f}; a collapsed codebook uses 1)."
    )


def _headline(mean: pd.DataFrame, depth: int) -> str:
    """What the codec keeps at its default ``depth``, beside DCT at the same bitrate."""
    rows = {m: mean[(mean.method == m) & (mean.n_codebooks == depth)].iloc[0] for m in ("codec", "dct")}
    bands = " / ".join(f"{rows['codec'][f'err_{b}']:.2f}" for b in ("delta", "theta", "alpha", "beta"))
    dct_bands = " / ".join(f"{rows['dct'][f'err_{b}']:.2f}" for b in ("delta", "theta", "alpha", "beta"))
    return (
        f"**At {rows['codec']['bits_per_second']:g} bits/s per channel, on recordings it never trained on:** "
        f"PRD {rows['codec']['prd']:.1f} % (block DCT at the same rate: {rows['dct']['prd']:.1f} %); "
        f"band-power error δ / θ / α / β {bands} (DCT: {dct_bands})."
    )


#: Relative band-power error above which the card says a band is not kept.
BAND_ERROR_TARGET = 0.15
BAND_SYMBOLS = {"delta": "δ", "theta": "θ", "alpha": "α", "beta": "β"}


def _limitations(mean: pd.DataFrame, depth: int) -> str:
    """Limitations stated from the measured figures, at the default ``depth``."""
    row = {m: mean[(mean.method == m) & (mean.n_codebooks == depth)].iloc[0] for m in ("codec", "dct", "wavelet")}
    codec, dct = row["codec"], row["dct"]
    better_waveform = codec["prd"] < dct["prd"]
    waveform = (
        f"At {codec['bits_per_second']:g} bits/s its PRD is {codec['prd']:.0f} % (SNR {codec['snr_db']:.1f} dB), "
        f"against {dct['prd']:.0f} % for DCT coding at the same rate: "
        + (
            "it keeps the waveform better than transform coding."
            if better_waveform
            else "transform coding keeps the waveform better. Check PRD and band powers on your own data "
            "before waveform-level analyses (ERPs, spike morphology)."
        )
    )
    lost = [(b, s) for b, s in BAND_SYMBOLS.items() if codec[f"err_{b}"] > BAND_ERROR_TARGET]
    bands = (
        f"- **Bands.** Band-power errors above {BAND_ERROR_TARGET:g}: "
        + ", ".join(f"{s} {codec[f'err_{b}']:.2f} (DCT {dct[f'err_{b}']:.2f})" for b, s in lost)
        + ". Do not rely on the power of these bands in reconstructions.\n"
        if lost
        else ""
    )
    return f"""
## Limitations
{bands}- Trained on about 24 h (20 subjects × 19 channels × 4 min) of healthy adults' artifact-free EEG
  from one system; clinical EEG (TUH), other montages and artifacts are out of its training
  distribution.
- **CPU-budget training from scratch.** The paper fine-tunes DAC's audio weights on TUH for far
  longer. Fine-tune this codec on your data (`mne-dac finetune --init default`), ideally on a GPU,
  or start from DAC's audio weights (`--init 44khz`), the paper's path.
- **Waveform.** {waveform}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("codec", type=Path, help="codec file written by mne-dac finetune")
    parser.add_argument("evaluation", type=Path, help="JSON written by evaluate_codec.py --json")
    parser.add_argument("--gan", type=Path, help="JSON of evaluate_codec.py on the GAN-phase codec, --compare no-GAN")
    parser.add_argument("--gan-note", default="", help="how the GAN / no-GAN pair was trained")
    parser.add_argument("--phase1", type=Path, help="codec file of a first training phase that OUT continues")
    parser.add_argument("--classify", type=Path, help="JSON written by classify_reconstructions.py --json")
    parser.add_argument("--ablation", type=Path, help="Markdown file with the ablation table and its note")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    payload, train = _training(args.codec)
    phases = ([_training(args.phase1)[1]] if args.phase1 else []) + [train]
    results = json.loads(args.evaluation.read_text())
    mean = pd.DataFrame(results["mean"])
    n_params = sum(v.numel() for k, v in payload["state_dict"].items() if "." in k)
    kw = payload["dac_kwargs"]
    hop = int(np.prod(kw["encoder_rates"]))
    frame_rate = payload["sfreq"] / hop
    bits_per_code = (kw["codebook_size"] - 1).bit_length()
    depth = int(payload.get("default_n_codebooks") or kw["n_codebooks"])
    data = results["data"]
    gan = json.loads(args.gan.read_text()) if args.gan else None
    name = payload.get("name", args.codec.stem)

    card = f"""# Model card: mne-dac's codec `{name}`

A compact DAC-SC codec for EEG, trained from scratch by mne-dac's recipe. Written by
`benchmarks/model_card.py` on {datetime.date.today()}.

{_headline(mean, depth)}

## What it is
- **Architecture:** `dac.DAC` with encoder_dim {kw["encoder_dim"]}, decoder_dim {kw["decoder_dim"]},
  latent_dim {kw["latent_dim"]}, encoder rates {kw["encoder_rates"]} (hop {hop}), {n_params / 1e6:.2f} M
  parameters, {kw["n_codebooks"]} residual codebooks of {kw["codebook_size"]} entries (codebook dim
  {kw["codebook_dim"]}).
- **Rate:** EEG at {payload["sfreq"]:g} Hz: {frame_rate:g} frames per second,
  {depth * bits_per_code * frame_rate:g} bits/s per channel with the {depth} codebooks it codes with by default,
  {kw["n_codebooks"] * bits_per_code * frame_rate:g} with all; each codebook adds {bits_per_code * frame_rate:g} bits/s.
- **Preprocessing:** the paper's: resample to {payload["sfreq"]:g} Hz, 0.1 Hz high-pass, clip at
  ±200 µV, scale to [-1, 1] (`{payload["preprocessing"]}`).

## Data and license
PhysioNet *EEG during mental arithmetic tasks* (eegmat) 1.0.0, Zyma et al. (2019),
<https://physionet.org/content/eegmat/1.0.0/>, Open Data Commons Attribution License v1.0
(ODC-By 1.0). 19 EEG channels of the 10-20 system at 500 Hz, referenced to linked ears
(ECG and the A2-A1 channel left out), one rest (180 s) and one arithmetic (60 s) recording per
subject.
- **Split by subject:** subjects 00–19 train, 20–23 validate (every figure below).

## Validation figures
Validation subjects {data["subjects"]}, both recordings each ({len(data["recordings"])} recordings), first
{data["seconds"]:g} s, 19 EEG channels, high-passed at 0.1 Hz as the codec does; metrics averaged over
recordings: PRD (%, lower is better), the relative band-power error in delta, theta, alpha and beta
(0.10: the band's power is kept to within 10 %) and DAC's spectrogram loss (the paper's measure).
The DCT and wavelet baselines code the same preprocessed signals at the same bits/s per channel,
every bit counted (`mne_dac.evaluation.baselines`).

{evaluate_codec.markdown_table(mean, results["others"])}

{evaluate_codec.floor_line(mean)}
"""
    if args.classify:
        card += f"""
## Does a classifier keep its accuracy?
Rest versus mental arithmetic on the validation subjects (never seen by the codec), 4-s windows,
log band powers (1–30 Hz) of every channel and a logistic regression, trained on one half of each
recording and tested on the other, both ways round (`benchmarks/classify_reconstructions.py`):

{_classify_section(json.loads(args.classify.read_text()))}
"""
    card += f"""
## Training
{_training_section(phases)}
- **Codebook use** on the validation recordings: {_usage_line(results)}
- **Retrain:** `RECIPE=gradient benchmarks/train_default_codec.sh ../shared/data/eegmat default.pt` (the run
  resumes exactly from its checkpoint when rerun).

Along training (validation crops):

{_curve_section(phases)}
"""
    if args.ablation:
        card += "\n## What each change did\n" + args.ablation.read_text() + "\n"
    if gan is not None:
        card += f"""
## With and without the GAN phase
{args.gan_note}

{_gan_section(gan, evaluate_codec)}
"""
    card += _limitations(mean, depth)
    card += """
## History
- `default-2026.11` (the first release) was trained with DAC's hop of 512 (9 codebooks of 1024
  entries at 512 Hz) and the mel loss: it kept mostly the slow waves and the alpha rhythm (PRD 75 %
  at 90 bits/s, against 31 % for DCT). It stays loadable by that name, and files written with it
  decode unchanged.
- `default-2026.12` had the architecture and recipe of today's default with 2 codebooks (9,800
  steps in two phases): PRD 37.7 % at 88 bits/s, but a 13-Hz low-pass (β power error 0.62; see
  *Why 8 codebooks*). It stays loadable by that name, and files written with it decode unchanged.
"""
    args.out.write_text(card)
    print(card)


if __name__ == "__main__":
    main()
