"""Evaluation: transform-coding baselines, downstream classifiers, corpora, datasets, the demo and testing helpers."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__, submodules=["baselines", "downstream", "corpora", "datasets", "demo", "testing"]
)
