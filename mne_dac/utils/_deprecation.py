"""Deprecations: old spellings keep working for one release, with a FutureWarning."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from mne_dac.utils._logging import warn

F = TypeVar("F", bound=Callable[..., Any])


def keyword_only(*names: str) -> Callable[[F], F]:
    """Accept ``names`` (keyword-only parameters of the function) by position, with a warning."""

    def decorate(f: F) -> F:
        n_positional = sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in inspect.signature(f).parameters.values()
        )

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            extra = args[n_positional:]
            if extra:
                if len(extra) > len(names):
                    raise TypeError(f"{f.__name__}() takes {n_positional} positional arguments, got {len(args)}")
                given = names[: len(extra)]
                warn(
                    f"Passing {', '.join(given)} to {f.__name__}() by position is deprecated and will fail in the "
                    f"next release: pass {', '.join(f'{n}=' for n in given)} by keyword.",
                    FutureWarning,
                )
                kwargs.update(zip(given, extra))
            return f(*args[:n_positional], **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def renamed(**old_to_new: str) -> Callable[[F], F]:
    """Accept the old names of renamed keyword parameters (``old=new``), with a warning."""

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{f.__name__}() got both {old}= (its old name) and {new}=")
                    warn(
                        f"{f.__name__}({old}=) is deprecated and will fail in the next release: use {new}=.",
                        FutureWarning,
                    )
                    kwargs[new] = kwargs.pop(old)
            return f(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


class renamed_attribute:  # noqa: N801 (used like property)
    """The old name of a renamed attribute or method: returns the new one, with a FutureWarning."""

    def __init__(self, new: str) -> None:
        self.new = new

    def __set_name__(self, owner: type, name: str) -> None:
        self.old = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        warn(
            f"{type(obj).__name__}.{self.old} is deprecated and will be removed in the next release: use .{self.new}.",
            FutureWarning,
        )
        return getattr(obj, self.new)
