"""The training layer: the skorch trainer and its callbacks, crops, data init, losses, the recipe and the
linear-code builder."""

import lazy_loader as _lazy

#: The trainer's public names, also reachable here (``mne_dac.training.CodecTrainer``).
_TRAINER = [
    "CodebookCollapseError", "CodecMonitor", "CodecTrainer", "FreshCrops", "GANSchedule", "TimeBudget",
    "available_memory", "check_training_memory", "checkpoint_callbacks", "clone_model", "estimate_training_memory",
    "gan_diverged", "plot_history", "prune_codebooks",
]  # fmt: skip

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["trainer", "crops", "data_init", "recipe", "losses", "finetune", "linear_code"],
    submod_attrs={"trainer": _TRAINER},
)
