"""Groups of neighbouring channels, coded jointly by the multi-channel codec (DAC-MC).

For training, a group of ``k`` channels is drawn around a pivot electrode: the other
channels are drawn without replacement, with probabilities that decrease with their
angular distance to the pivot (:func:`sample_pivot_group`). At inference, a montage is
partitioned deterministically, by anatomical region (:func:`anatomical_groups`) or
greedily around pivots (:func:`pivot_groups`); :func:`make_groups` picks the method.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mne
import numpy as np
from mne.utils import _check_option, _validate_type

from mne_dac.signal.channels import (
    CHANNELS_10_20,
    HEAD_SPHERE,
    _angles,
    _builtin_positions,
    _directions,
    channel_positions,
    electrode_name,
)
from mne_dac.utils._deprecation import renamed
from mne_dac.utils._logging import warn

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_METHODS = ("pivot", "anatomical", "custom", "single", "all")

#: Regions of the 10-20 system, in the names of the 10-10 system. The old names
#: T3/T4/T5/T6 are the same electrodes as T7/T8/P7/P8 and go to the same regions.
ANATOMICAL_REGIONS: dict[str, tuple[str, ...]] = {
    "frontal": ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8"),
    "central": ("C3", "Cz", "C4"),
    "parietal": ("P3", "Pz", "P4"),
    "occipital": ("O1", "O2"),
    "left_temporal": ("T7", "P7"),
    "right_temporal": ("T8", "P8"),
}
_OLD_NAMES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

#: Angles (radians) are rounded to this many decimals, so that ties go by channel order.
_DECIMALS = 9


@dataclass(frozen=True)
class ChannelGroups:
    """Channels coded jointly, as a partition of a montage.

    Parameters
    ----------
    groups : sequence of sequence of str
        Channel names of each group, as in the recording (not normalised).
    method : str
        How the groups were made: ``"pivot"``, ``"anatomical"``, ``"custom"``,
        ``"single"`` or ``"all"``.
    """

    groups: tuple[tuple[str, ...], ...]
    method: str

    def __post_init__(self) -> None:
        _check_option("method", self.method, _METHODS)
        _validate_type(self.groups, (list, tuple), "groups")
        for group in self.groups:
            _validate_type(group, (list, tuple), "each group")
            for name in group:
                _validate_type(name, str, "each channel name")
        groups = tuple(tuple(group) for group in self.groups)
        if not groups or not all(groups):
            raise ValueError(f"Channel groups must be non-empty, got {groups}")
        counts = Counter(name for group in groups for name in group)
        repeated = sorted(name for name, count in counts.items() if count > 1)
        if repeated:
            raise ValueError(f"Channel(s) {repeated} appear more than once in the groups.")
        object.__setattr__(self, "groups", groups)

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.groups)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Number of channels of each group."""
        return tuple(len(group) for group in self.groups)

    def to_dict(self) -> dict:
        """Return the groups as a JSON-serialisable dict."""
        return {"groups": [list(group) for group in self.groups], "method": self.method}

    @classmethod
    def from_dict(cls, d: dict) -> ChannelGroups:
        """Build groups from :meth:`to_dict` output."""
        return cls(groups=d["groups"], method=d["method"])

    def check_partition(self, ch_names: Sequence[str]) -> None:
        """Check that the groups hold each channel of ``ch_names`` exactly once.

        Parameters
        ----------
        ch_names : list of str
            Channel names of the recording.
        """
        grouped = {name for group in self.groups for name in group}
        missing = [name for name in ch_names if name not in grouped]
        extra = sorted(grouped.difference(ch_names))
        if missing or extra:
            raise ValueError(
                f"The channel groups are not a partition of the channels: missing from the groups "
                f"{missing}, in the groups but not in the recording {extra}."
            )

    def indices(self, ch_names: Sequence[str]) -> list[np.ndarray]:
        """Indices of the channels of each group in ``ch_names``.

        Parameters
        ----------
        ch_names : list of str
            Channel names of the recording.

        Returns
        -------
        indices : list of array of int, shape (n_channels_in_group,)
            One array per group, in the order of the channels in the group.
        """
        position = {name: ci for ci, name in enumerate(ch_names)}
        missing = [name for group in self.groups for name in group if name not in position]
        if missing:
            raise ValueError(f"Channel(s) {missing} of the groups are not in the recording.")
        return [np.array([position[name] for name in group], dtype=np.int64) for group in self.groups]


def exponential_weights(distances: np.ndarray, scale: float = 0.5) -> np.ndarray:
    """Default weights of the pivot sampling: ``exp(-distances / scale)``.

    Any callable ``weight_fn(distances) -> weights`` with nonnegative weights of the same
    shape can replace it in :func:`pivot_probabilities` and :func:`sample_pivot_group`
    (e.g. ``functools.partial(exponential_weights, scale=0.3)``).

    Parameters
    ----------
    distances : array
        Angular distances in radians on the head sphere (:func:`~mne_dac.signal.channels.angular_distances`).
    scale : float
        Decay, in radians: weights fall by a factor e every ``scale`` (0.5 rad ≈ 29°, a
        little less than the spacing of the 10-20 electrodes).

    Returns
    -------
    weights : array
        Same shape as ``distances``.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return np.exp(-np.asarray(distances, dtype=float) / scale)


def _channel_directions(
    channels: Sequence[str] | np.ndarray, montage: str | mne.channels.DigMontage | None
) -> tuple[list[str] | None, np.ndarray]:
    """Channel names (None if positions were given) and directions from the head centre."""
    if isinstance(channels, np.ndarray) and channels.dtype.kind == "f":
        return None, _directions(channels)
    names = list(channels)
    return names, _directions(channel_positions(names, montage))


def _pivot_index(pivot: str | int, names: list[str] | None, n_channels: int) -> int:
    _validate_type(pivot, (str, "int-like"), "pivot")
    if isinstance(pivot, str):
        if names is None:
            raise ValueError(f"pivot={pivot!r} is a name: pass channel names, not positions, or give an index.")
        if pivot not in names:
            raise ValueError(f"pivot {pivot!r} is not one of the channels {names}")
        return names.index(pivot)
    if not 0 <= pivot < n_channels:
        raise ValueError(f"pivot index {pivot} is out of range for {n_channels} channels")
    return int(pivot)


def _first_draw_probabilities(
    directions: np.ndarray, pivot: int, weight_fn: Callable[[np.ndarray], np.ndarray] | None
) -> np.ndarray:
    if len(directions) < 2:
        raise ValueError("Drawing channels around a pivot needs at least two channels.")
    distances = _angles(directions, directions[pivot])
    weights = np.array((exponential_weights if weight_fn is None else weight_fn)(distances), dtype=float)
    if weights.shape != distances.shape or not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(
            f"weight_fn must return finite nonnegative weights of the same shape as the distances "
            f"{distances.shape}, got {weights if weights.size < 10 else weights.shape}"
        )
    weights[pivot] = 0
    total = weights.sum()
    if not total > 0:
        raise ValueError("weight_fn gives zero weight to every channel but the pivot.")
    return weights / total


def pivot_probabilities(
    channels: Sequence[str] | np.ndarray,
    pivot: str | int,
    *,
    montage: str | mne.channels.DigMontage | None = None,
    weight_fn: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Probability that each channel is the first drawn around a pivot.

    Parameters
    ----------
    channels : list of str | array, shape (n_channels, 3)
        Channel names, or their positions (from :func:`~mne_dac.signal.channels.channel_positions`).
    pivot : str | int
        The pivot channel, by name or index.
    montage : str | DigMontage | None
        Where to find the positions of named channels (see
        :func:`~mne_dac.signal.channels.channel_positions`).
    weight_fn : callable | None
        Maps the (n_channels,) angular distances to the pivot, in radians, to nonnegative
        weights; ``None`` is :func:`exponential_weights`.

    Returns
    -------
    probabilities : array, shape (n_channels,)
        Proportional to the weights, 0 for the pivot; sums to 1.
    """
    names, directions = _channel_directions(channels, montage)
    return _first_draw_probabilities(directions, _pivot_index(pivot, names, len(directions)), weight_fn)


@renamed(k="group_size")
def sample_pivot_group(
    channels: Sequence[str] | np.ndarray,
    group_size: int,
    rng: np.random.Generator | int | None,
    *,
    pivot: str | int | None = None,
    montage: str | mne.channels.DigMontage | None = None,
    weight_fn: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Draw a group of ``group_size`` channels around a pivot, for training.

    The other channels are drawn one by one without replacement, each with probability
    proportional to ``weight_fn`` of its angular distance to the pivot; the first draw
    follows :func:`pivot_probabilities`.

    Parameters
    ----------
    channels : list of str | array, shape (n_channels, 3)
        Channel names, or their positions (from :func:`~mne_dac.signal.channels.channel_positions`):
        in training loops, look the positions up once per montage and pass them.
    group_size : int
        Group size. With fewer channels than ``group_size``, all channels are returned.
    rng : numpy.random.Generator | int | None
        Random generator, or a seed for :func:`numpy.random.default_rng`.
    pivot : str | int | None
        The pivot channel, by name or index; ``None`` draws it uniformly.
    montage : str | DigMontage | None
        Where to find the positions of named channels (see
        :func:`~mne_dac.signal.channels.channel_positions`).
    weight_fn : callable | None
        Maps the (n_channels,) angular distances to the pivot, in radians, to nonnegative
        weights; ``None`` is :func:`exponential_weights`.

    Returns
    -------
    indices : array of int, shape (min(group_size, n_channels),)
        Channel indices: the pivot, then the others in the order they were drawn.
    """
    _validate_type(group_size, "int-like", "group_size")
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1, got {group_size}")
    rng = np.random.default_rng(rng)
    names, directions = _channel_directions(channels, montage)
    n_channels = len(directions)
    pivot = int(rng.integers(n_channels)) if pivot is None else _pivot_index(pivot, names, n_channels)
    n_others = min(group_size, n_channels) - 1
    if n_others == 0:
        return np.array([pivot])
    probabilities = _first_draw_probabilities(directions, pivot, weight_fn)
    if np.count_nonzero(probabilities) < n_others:
        label = f"pivot {names[pivot]!r}" if names else f"pivot {pivot}"
        raise ValueError(
            f"weight_fn gives nonzero weight to {np.count_nonzero(probabilities)} channels around "
            f"{label}, fewer than the group_size - 1 = {n_others} to draw."
        )
    others = rng.choice(n_channels, size=n_others, replace=False, p=probabilities)
    return np.concatenate([[pivot], others])


def single_channel_groups(ch_names: Sequence[str]) -> ChannelGroups:
    """One group per channel (single-channel coding)."""
    return ChannelGroups(tuple((name,) for name in ch_names), "single")


def _mean_region_distances(directions: np.ndarray) -> np.ndarray:
    """Mean angular distances (n_channels, n_regions) to the standard positions of the regions' electrodes."""
    standard = _builtin_positions(None)
    distances = []
    for names in ANATOMICAL_REGIONS.values():
        references = _directions(np.array([standard[name.upper()][1] for name in names]))
        distances.append(_angles(directions[:, np.newaxis], references[np.newaxis]).mean(1))
    return np.stack(distances, axis=1)


def anatomical_groups(
    ch_names: Sequence[str],
    regions: Mapping[str, Sequence[str]] | None = None,
    *,
    montage: str | mne.channels.DigMontage | None = None,
) -> ChannelGroups:
    """Group channels by region of the head.

    With the default regions (:data:`ANATOMICAL_REGIONS`), channels are assigned by
    :func:`~mne_dac.signal.channels.electrode_name` (the old T3/T4/T5/T6 as T7/T8/P7/P8). Other
    channels (e.g. Fpz, FC5 or Oz of 10-10 montages) go to the region whose electrodes
    are nearest on average (mean angular distance to their standard positions), so that
    any montage with known positions is grouped. Empty regions are dropped.

    Parameters
    ----------
    ch_names : list of str
        Channel names.
    regions : dict | None
        Region name -> channel names, to group channels as given (``method="custom"``);
        the regions must hold each channel exactly once. ``None`` uses the default
        regions (``method="anatomical"``).
    montage : str | DigMontage | None
        Where to find the positions of channels outside the default regions (see
        :func:`~mne_dac.signal.channels.channel_positions`).

    Returns
    -------
    groups : ChannelGroups
        One group per non-empty region, in the order of the regions; the channels of
        a group are in the order of ``ch_names``.
    """
    ch_names = list(ch_names)
    order = {name: ci for ci, name in enumerate(ch_names)}
    if regions is not None:
        _validate_type(regions, Mapping, "regions")
        for region, names in regions.items():
            _validate_type(names, (list, tuple), f"regions[{region!r}]")
        groups = ChannelGroups(tuple(tuple(names) for names in regions.values() if len(names)), "custom")
        groups.check_partition(ch_names)
        return ChannelGroups(tuple(tuple(sorted(group, key=order.get)) for group in groups.groups), "custom")
    region_of = {name: ri for ri, names in enumerate(ANATOMICAL_REGIONS.values()) for name in names}
    electrodes = [electrode_name(name) for name in ch_names]
    assigned = np.array([region_of.get(_OLD_NAMES.get(name, name), -1) for name in electrodes])
    others = np.flatnonzero(assigned < 0)
    if others.size:
        directions = _directions(channel_positions([ch_names[ci] for ci in others], montage))
        assigned[others] = np.argmin(_mean_region_distances(directions), axis=1)
    groups = (tuple(ch_names[ci] for ci in np.flatnonzero(assigned == ri)) for ri in range(len(ANATOMICAL_REGIONS)))
    return ChannelGroups(tuple(group for group in groups if group), "anatomical")


@renamed(k="group_size")
def pivot_groups(
    ch_names: Sequence[str], group_size: int, *, montage: str | mne.channels.DigMontage | None = None
) -> ChannelGroups:
    """Partition a montage into groups of ``group_size`` neighbouring channels, deterministically.

    While channels remain, the pivot is the remaining channel farthest (in angle) from
    the centroid of the remaining channels, and its group is the pivot and its ``group_size - 1``
    nearest remaining channels, nearest first. Ties go to the first channel in
    ``ch_names``. The last group may be smaller; with ``group_size`` channels or fewer, all are in
    one group.

    Parameters
    ----------
    ch_names : list of str
        Channel names.
    group_size : int
        Group size.
    montage : str | DigMontage | None
        Where to find the channel positions (see :func:`~mne_dac.signal.channels.channel_positions`).

    Returns
    -------
    groups : ChannelGroups
        Groups with the pivot first, from the edge of the montage inwards.
    """
    _validate_type(group_size, "int-like", "group_size")
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1, got {group_size}")
    ch_names = list(ch_names)
    directions = _directions(channel_positions(ch_names, montage))
    remaining, groups = list(range(len(ch_names))), []
    while remaining:
        spread = _angles(directions[remaining], directions[remaining].mean(0))
        pivot = remaining.pop(int(np.argmax(np.round(spread, _DECIMALS))))
        nearness = np.round(_angles(directions[remaining], directions[pivot]), _DECIMALS)
        nearest = [remaining[i] for i in np.argsort(nearness, kind="stable")[: group_size - 1]]
        groups.append(tuple(ch_names[ci] for ci in [pivot, *nearest]))
        remaining = [ci for ci in remaining if ci not in nearest]
    return ChannelGroups(tuple(groups), "pivot")


#: The grouping methods: how :func:`make_groups` partitions channels when given no partition.
GROUPINGS = ("pivot", "anatomical", "single", "all")


def resolve_groups(groups: Any, grouping: str | None) -> Any:
    """One of ``groups=`` (a partition) and ``grouping=`` (a method of :data:`GROUPINGS`).

    A method name passed as ``groups=`` (the old spelling) still works, with a FutureWarning.

    Returns
    -------
    groups : str | dict | ChannelGroups | None
        The partition, else the method, else ``None`` (the codec's default grouping).
    """
    if isinstance(groups, str):
        if grouping is not None:
            raise TypeError(f"Pass grouping={groups!r} alone, not with grouping={grouping!r}.")
        warn(
            f"Passing a grouping method as groups={groups!r} is deprecated and will fail in the next release: "
            f"use grouping={groups!r} (groups= takes a partition: a dict or ChannelGroups).",
            FutureWarning,
        )
        return groups
    if grouping is not None:
        if groups is not None:
            raise TypeError("Pass groups= (a partition) or grouping= (a method), not both.")
        _check_option("grouping", grouping, GROUPINGS)
    return grouping if groups is None else groups


def group_kwargs(groups: Any) -> dict[str, Any]:
    """``groups=`` or ``grouping=``, whichever a value of :func:`resolve_groups` is, to pass on."""
    return {"grouping": groups} if isinstance(groups, str) else {"groups": groups}


@renamed(k="group_size")
def make_groups(
    ch_names: Sequence[str],
    groups: str | Mapping[str, Sequence[str]] | ChannelGroups | None = None,
    *,
    grouping: str | None = None,
    group_size: int = 4,
    max_size: int | None = None,
    montage: str | mne.channels.DigMontage | None = None,
) -> ChannelGroups:
    """Partition channels into the groups that the multi-channel codec codes jointly.

    Parameters
    ----------
    ch_names : list of str
        Channel names of the recording.
    groups : dict | ChannelGroups | None
        A partition: a dict region name -> channel names (custom regions), or groups,
        which are checked to be a partition of ``ch_names``.
    grouping : str | None
        Without ``groups``, how to group: ``"pivot"`` (:func:`pivot_groups` with
        ``group_size``), ``"anatomical"`` (:func:`anatomical_groups`), ``"single"`` (one
        channel per group) or ``"all"`` (one group).
    group_size : int
        Group size for ``"pivot"``.
    max_size : int | None
        Most channels a group may hold (a codec's limit): the larger groups that a method or
        a dict makes are split by :func:`pivot_groups` into groups of ``max_size``, and
        ``groups`` given as :class:`ChannelGroups` are checked. ``None``: no limit.
    montage : str | DigMontage | None
        Where to find the channel positions (see :func:`~mne_dac.signal.channels.channel_positions`).

    Returns
    -------
    groups : ChannelGroups
        A partition of ``ch_names``.
    """
    groups = resolve_groups(groups, grouping)
    if groups is None:
        raise TypeError("make_groups() needs groups= (a partition) or grouping= (a method).")
    _validate_type(groups, (str, Mapping, ChannelGroups), "groups")
    ch_names = list(ch_names)
    if max_size is not None and max_size < 1:
        raise ValueError(f"max_size must be at least 1, got {max_size}")
    if isinstance(groups, ChannelGroups):
        groups.check_partition(ch_names)
        largest = max(groups.sizes)
        if max_size is not None and largest > max_size:
            raise ValueError(
                f"The groups hold up to {largest} channels, more than the {max_size} allowed: split them, or pass a "
                "grouping method or a dict of regions, whose larger groups are split around pivots."
            )
        return groups
    if isinstance(groups, Mapping):
        made = anatomical_groups(ch_names, groups)
    else:
        _check_option("grouping", groups, GROUPINGS)
        if groups == "pivot":
            made = pivot_groups(ch_names, group_size, montage=montage)
        elif groups == "anatomical":
            made = anatomical_groups(ch_names, montage=montage)
        elif groups == "single":
            made = single_channel_groups(ch_names)
        else:
            made = ChannelGroups((tuple(ch_names),), "all")
    if max_size is None or max(made.sizes) <= max_size:
        return made
    split = (pivot_groups(group, max_size, montage=montage).groups for group in made.groups)
    return ChannelGroups(tuple(part for parts in split for part in parts), made.method)


def plot_group_probabilities(
    pivot: str | int = "Cz",
    ch_names: Sequence[str] | None = None,
    *,
    montage: str | mne.channels.DigMontage | None = None,
    weight_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    axes: Axes | None = None,
    show: bool = True,
) -> Figure:
    """Plot on the head the probability of each channel to be drawn first around a pivot.

    Parameters
    ----------
    pivot : str | int
        The pivot channel, by name or index; it is marked with a star.
    ch_names : list of str | None
        Channel names; ``None`` for the 19 channels of the 10-20 system
        (:data:`~mne_dac.signal.channels.CHANNELS_10_20`).
    montage : str | DigMontage | None
        Where to find the channel positions (see :func:`~mne_dac.signal.channels.channel_positions`).
    weight_fn : callable | None
        Weights of the angular distances; ``None`` is :func:`exponential_weights`.
    axes : matplotlib.axes.Axes | None
        Where to plot; ``None`` makes a new figure.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    """
    import matplotlib.pyplot as plt
    from mne.viz.utils import plt_show

    ch_names = list(CHANNELS_10_20 if ch_names is None else ch_names)
    positions = channel_positions(ch_names, montage)
    pivot = _pivot_index(pivot, ch_names, len(ch_names))
    probabilities = _first_draw_probabilities(_directions(positions), pivot, weight_fn)
    info = mne.create_info(ch_names, 256.0, "eeg")
    info.set_montage(mne.channels.make_dig_montage(dict(zip(ch_names, positions)), coord_frame="head"))
    if axes is None:
        _, axes = plt.subplots(figsize=(4.5, 3.6), layout="constrained")
    image, _ = mne.viz.plot_topomap(
        probabilities,
        info,
        mask=np.arange(len(ch_names)) == pivot,
        mask_params={"marker": "*", "markerfacecolor": "w", "markeredgecolor": "k", "markersize": 15},
        cmap="viridis",
        vlim=(0, None),
        sphere=HEAD_SPHERE,
        axes=axes,
        show=False,
    )
    axes.set_title(f"Pivot {ch_names[pivot]}: probability of being drawn first")
    axes.figure.colorbar(image, ax=axes, shrink=0.8)
    plt_show(show)
    return axes.figure
