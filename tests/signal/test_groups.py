"""Channel groups: partitions of a montage, and groups drawn around a pivot."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import mne
import numpy as np
import pytest
from conftest import DATA_DIR
from scipy.stats import spearmanr

from mne_dac.signal.channels import CHANNELS_10_20, angular_distances, channel_positions
from mne_dac.signal.groups import (
    ANATOMICAL_REGIONS,
    ChannelGroups,
    anatomical_groups,
    exponential_weights,
    group_kwargs,
    make_groups,
    pivot_groups,
    pivot_probabilities,
    plot_group_probabilities,
    resolve_groups,
    sample_pivot_group,
    single_channel_groups,
)

NAMES = list(CHANNELS_10_20)
TUH = [f"EEG {name.upper()}-REF" for name in ("Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2")]
TUH += ["EEG F7-REF", "EEG F8-REF", "EEG T3-REF", "EEG T4-REF", "EEG T5-REF", "EEG T6-REF", "EEG FZ-REF"]
TUH += ["EEG CZ-REF", "EEG PZ-REF"]


@pytest.fixture(scope="module")
def eegmmidb_names() -> list[str]:
    return mne.io.read_raw_edf(DATA_DIR / "eegmmidb_excerpt_S_R_128Hz.edf", verbose=False).ch_names


def _is_partition(groups: ChannelGroups, ch_names: list[str]) -> bool:
    flat = [name for group in groups.groups for name in group]
    return len(flat) == len(ch_names) and set(flat) == set(ch_names)


# ChannelGroups


def test_channel_groups_round_trip():
    groups = ChannelGroups([["Fp1", "Fp2"], ["Cz"]], "custom")
    assert groups.groups == (("Fp1", "Fp2"), ("Cz",))  # lists become tuples: hashable, immutable
    assert groups.n_groups == 2 and groups.sizes == (2, 1)
    assert ChannelGroups.from_dict(json.loads(json.dumps(groups.to_dict()))) == groups
    assert hash(groups) == hash(ChannelGroups.from_dict(groups.to_dict()))


@pytest.mark.parametrize(
    "groups, method, match",
    [
        ([], "custom", "non-empty"),
        ([["Cz"], []], "custom", "non-empty"),
        ([["Cz", "C3"], ["C3"], ["Fz", "Fz"]], "custom", r"\['C3', 'Fz'\] appear more than once"),
        ([["Cz"]], "random", "method"),
        (["Cz"], "custom", "each group"),
        ([["Cz", 3]], "custom", "each channel name"),
    ],
)
def test_channel_groups_validation(groups, method, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ChannelGroups(groups, method)


def test_channel_groups_indices_and_partition():
    groups = ChannelGroups((("C4", "Cz"), ("Fp1",)), "custom")
    indices = groups.indices(["Fp1", "Cz", "C4", "O1"])
    assert [ix.tolist() for ix in indices] == [[2, 1], [0]]
    assert indices[0].dtype == np.int64
    with pytest.raises(ValueError, match=r"\['C4'\] of the groups are not in the recording"):
        groups.indices(["Fp1", "Cz"])
    groups.check_partition(["Cz", "Fp1", "C4"])
    with pytest.raises(
        ValueError, match=r"missing from the groups \['O1'\], in the groups but not in the recording \[\]"
    ):
        groups.check_partition(["Cz", "Fp1", "C4", "O1"])
    with pytest.raises(
        ValueError, match=r"missing from the groups \[\], in the groups but not in the recording \['C4'\]"
    ):
        groups.check_partition(["Cz", "Fp1"])


# Anatomical groups


def test_anatomical_groups_10_20():
    groups = anatomical_groups(NAMES)
    assert groups.method == "anatomical"
    assert groups.groups == tuple(ANATOMICAL_REGIONS[region] for region in ANATOMICAL_REGIONS)
    assert _is_partition(groups, NAMES)


def test_anatomical_groups_old_names_and_order():
    """TUH names with T3/T4/T5/T6 go to the temporal regions; within a group, ch_names order."""
    groups = anatomical_groups(TUH)
    assert _is_partition(groups, TUH)
    assert groups.groups[0] == (
        "EEG FP1-REF",
        "EEG FP2-REF",
        "EEG F3-REF",
        "EEG F4-REF",
        "EEG F7-REF",
        "EEG F8-REF",
        "EEG FZ-REF",
    )
    assert groups.groups[-2:] == (("EEG T3-REF", "EEG T5-REF"), ("EEG T4-REF", "EEG T6-REF"))


def test_anatomical_groups_64_channels(eegmmidb_names):
    """Channels outside the 10-20 regions go to the nearest region: every channel once."""
    groups = anatomical_groups(eegmmidb_names)
    assert _is_partition(groups, eegmmidb_names) and groups.n_groups == 6
    region = {name: ri for ri, group in enumerate(groups.groups) for name in group}
    frontal, central, parietal, occipital, left, right = range(6)
    expected = {"Fpz.": frontal, "Afz.": frontal, "Fcz.": central, "C1..": central, "Cpz.": parietal, "Poz.": occipital}
    expected.update({"Oz..": occipital, "Iz..": occipital, "T9..": left, "Tp7.": left, "T10.": right, "Tp8.": right})
    assert {name: region[name] for name in expected} == expected
    for group in groups.groups:  # channel order follows ch_names
        assert list(group) == sorted(group, key=eegmmidb_names.index)
    sizes = dict(zip(ANATOMICAL_REGIONS, groups.sizes))
    assert sizes["left_temporal"] == sizes["right_temporal"]  # symmetric montage


def test_anatomical_groups_drop_empty_regions():
    groups = anatomical_groups(["O2", "Cz", "C3"])
    assert groups.groups == (("Cz", "C3"), ("O2",))


def test_anatomical_groups_unknown_channel():
    with pytest.raises(ValueError, match=r"\['EKG'\]\. Pass montage="):
        anatomical_groups(["Cz", "EKG", "O1"])
    montage = mne.channels.make_dig_montage({"EKG": [0.0, -0.1, 0.05]}, coord_frame="head")
    groups = anatomical_groups(["Cz", "EKG", "O1"], montage=montage)
    assert groups.groups == (("Cz",), ("EKG", "O1"))


def test_custom_regions():
    ch_names = ["Fp1", "Fp2", "C3", "C4", "O1"]
    groups = anatomical_groups(ch_names, {"right": ["C4", "Fp2"], "none": [], "left": ["O1", "C3", "Fp1"]})
    assert groups.method == "custom"
    assert groups.groups == (("Fp2", "C4"), ("Fp1", "C3", "O1"))
    with pytest.raises(ValueError, match=r"missing from the groups \['O1'\], .* not in the recording \['Cz'\]"):
        anatomical_groups(ch_names, {"a": ["Fp1", "Fp2", "C3"], "b": ["C4", "Cz"]})
    with pytest.raises(ValueError, match=r"\['C3'\] appear more than once"):
        anatomical_groups(ch_names, {"a": ["Fp1", "Fp2", "C3"], "b": ["C3", "C4", "O1"]})
    with pytest.raises(TypeError, match="regions\\['a'\\]"):
        anatomical_groups(ch_names, {"a": "Fp1"})


# Pivot groups


def test_pivot_groups_10_20():
    groups = pivot_groups(NAMES, 4)
    assert groups.method == "pivot" and _is_partition(groups, NAMES)
    assert groups.sizes == (4, 4, 4, 4, 3)
    assert groups == pivot_groups(NAMES, 4)  # deterministic
    assert groups.groups[0][0] in {"Fp1", "Fp2", "F7", "F8", "T7", "T8", "P7", "P8", "O1", "O2"}  # an edge first
    distances = angular_distances(channel_positions(NAMES))
    within = [distances[np.ix_(ix, ix)].max() for ix in groups.indices(NAMES)[:-1]]
    assert max(within) < np.median(distances) < np.max(distances)  # groups are compact
    for group in groups.indices(NAMES):  # pivot first, then nearest first
        assert np.all(np.diff(distances[group[0], group]) >= 0)


def test_pivot_groups_64_channels(eegmmidb_names):
    groups = pivot_groups(eegmmidb_names, 4)
    assert _is_partition(groups, eegmmidb_names) and groups.sizes == (4,) * 16
    reversed_groups = pivot_groups(eegmmidb_names[::-1], 4)  # no ties: the order of ch_names does not matter
    assert {frozenset(group) for group in groups.groups} == {frozenset(group) for group in reversed_groups.groups}
    assert _is_partition(pivot_groups(eegmmidb_names, 5), eegmmidb_names)


def test_pivot_groups_small_montage():
    assert pivot_groups(["Cz", "C3", "O1"], 4).groups[0] == ("O1", "C3", "Cz")
    assert pivot_groups(["Cz", "C3", "O1"], 3).n_groups == 1
    assert pivot_groups(["Cz", "C3", "O1"], 1).sizes == (1, 1, 1)
    with pytest.raises(ValueError, match="group_size must be at least 1"):
        pivot_groups(NAMES, 0)


def test_pivot_groups_ties_follow_channel_order():
    """Two channels at the same place (old and new names): the first in ch_names is nearer."""
    assert pivot_groups(["T3", "T7", "Cz"], 2).groups == (("Cz", "T3"), ("T7",))
    assert pivot_groups(["T7", "T3", "Cz"], 2).groups == (("Cz", "T7"), ("T3",))


# Pivot sampling


def test_exponential_weights():
    np.testing.assert_allclose(exponential_weights(np.array([0.0, 0.5, 1.0])), [1, np.exp(-1), np.exp(-2)])
    np.testing.assert_allclose(exponential_weights(1.0, scale=2.0), np.exp(-0.5))
    with pytest.raises(ValueError, match="scale must be positive"):
        exponential_weights(np.zeros(3), scale=0)


def test_pivot_probabilities():
    probabilities = pivot_probabilities(NAMES, "Cz")
    assert probabilities.shape == (19,) and probabilities[NAMES.index("Cz")] == 0
    np.testing.assert_allclose(probabilities.sum(), 1)
    distances = angular_distances(channel_positions(NAMES))[NAMES.index("Cz")]
    others = np.arange(19) != NAMES.index("Cz")
    expected = np.exp(-distances[others] / 0.5)
    np.testing.assert_allclose(probabilities[others], expected / expected.sum())
    np.testing.assert_allclose(pivot_probabilities(channel_positions(NAMES), 9), probabilities)  # positions, index


def test_sample_pivot_group_statistics():
    """Channels near the pivot are drawn more often; the first draw follows pivot_probabilities."""
    positions, cz, n_draws = channel_positions(NAMES), NAMES.index("Cz"), 10_000
    rng = np.random.default_rng(42)
    draws = np.array([sample_pivot_group(positions, 4, rng, pivot=cz) for _ in range(n_draws)])
    assert draws.shape == (n_draws, 4) and np.all(draws[:, 0] == cz)
    assert all(len(set(draw)) == 4 for draw in draws[:100])
    included = np.bincount(draws[:, 1:].ravel(), minlength=19) / n_draws
    others = np.arange(19) != cz
    distances = angular_distances(positions)[cz]
    assert spearmanr(distances[others], included[others]).statistic < -0.8
    frequency = dict(zip(NAMES, included))
    assert min(frequency["C3"], frequency["C4"]) > 2.5 * max(frequency["O1"], frequency["Fp1"])
    first = np.bincount(draws[:, 1], minlength=19) / n_draws
    np.testing.assert_allclose(first, pivot_probabilities(positions, cz), atol=0.015)  # 4.4 sd


def test_sample_pivot_group_uniform_pivot():
    rng = np.random.default_rng(0)
    positions = channel_positions(NAMES)
    pivots = np.bincount([sample_pivot_group(positions, 2, rng)[0] for _ in range(3800)], minlength=19)
    assert pivots.min() > 150 and pivots.max() < 250  # 200 expected each


def test_sample_pivot_group_arguments():
    group = sample_pivot_group(NAMES, 4, 0, pivot="Cz")
    assert group.dtype.kind == "i" and group[0] == NAMES.index("Cz")
    np.testing.assert_array_equal(group, sample_pivot_group(NAMES, 4, np.random.default_rng(0), pivot="Cz"))
    np.testing.assert_array_equal(group, sample_pivot_group(channel_positions(NAMES), 4, 0, pivot=9))  # same draws
    np.testing.assert_array_equal(
        sample_pivot_group(TUH, 4, 0, pivot="EEG CZ-REF"), sample_pivot_group(TUH, 4, 0, pivot=17)
    )
    assert sorted(sample_pivot_group(["Cz", "C3", "O1"], 8, 0, pivot="O1")) == [0, 1, 2]  # k > n: all, pivot first
    assert sample_pivot_group(["Cz", "C3", "O1"], 8, 0, pivot="O1")[0] == 2
    assert sample_pivot_group(NAMES, 1, 0, pivot="Cz").tolist() == [9]
    assert sample_pivot_group(["Cz"], 4, 0).tolist() == [0]
    with pytest.raises(ValueError, match="'Oz' is not one of the channels"):
        sample_pivot_group(NAMES, 4, 0, pivot="Oz")
    with pytest.raises(ValueError, match="pass channel names, not positions"):
        sample_pivot_group(channel_positions(NAMES), 4, 0, pivot="Cz")
    with pytest.raises(ValueError, match="pivot index 19 is out of range"):
        sample_pivot_group(NAMES, 4, 0, pivot=19)
    with pytest.raises(ValueError, match=r"shape \(n_channels, 3\)"):
        sample_pivot_group(np.zeros((4, 2)), 4, 0)


def test_custom_weight_fn():
    """A weight_fn replaces the exponential: here, uniform within 50° of the pivot."""

    def within_50(distances):
        return (distances < np.radians(50)).astype(float)

    probabilities = pivot_probabilities(NAMES, "Cz", weight_fn=within_50)
    near = {"Fz", "C3", "C4", "Pz"}
    np.testing.assert_allclose(probabilities, [1 / 4 if name in near else 0 for name in NAMES])
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert {NAMES[i] for i in sample_pivot_group(NAMES, 4, rng, pivot="Cz", weight_fn=within_50)[1:]} < near
    with pytest.raises(
        ValueError, match="nonzero weight to 4 channels around pivot 'Cz', fewer than the group_size - 1 = 5"
    ):
        sample_pivot_group(NAMES, 6, rng, pivot="Cz", weight_fn=within_50)
    with pytest.raises(ValueError, match="finite nonnegative weights"):
        pivot_probabilities(NAMES, "Cz", weight_fn=lambda d: -d)
    with pytest.raises(ValueError, match="same shape"):
        pivot_probabilities(NAMES, "Cz", weight_fn=lambda d: d[:3])
    with pytest.raises(ValueError, match="zero weight to every channel"):
        pivot_probabilities(NAMES, "Cz", weight_fn=np.zeros_like)


# Dispatcher and plot


def test_make_groups(eegmmidb_names):
    assert make_groups(NAMES, grouping="pivot", group_size=3) == pivot_groups(NAMES, 3)
    with pytest.warns(FutureWarning, match=r"make_groups\(k=\) is deprecated"):
        assert make_groups(NAMES, grouping="pivot", k=3) == pivot_groups(NAMES, 3)
    assert make_groups(NAMES, grouping="anatomical") == anatomical_groups(NAMES)
    assert make_groups(NAMES, grouping="single") == single_channel_groups(NAMES)
    assert single_channel_groups(NAMES).sizes == (1,) * 19 and single_channel_groups(NAMES).method == "single"
    everything = make_groups(NAMES, grouping="all")
    assert everything.method == "all" and everything.groups == (tuple(NAMES),)
    assert make_groups(["C3", "Cz"], {"a": ["Cz"], "b": ["C3"]}).method == "custom"
    given = pivot_groups(eegmmidb_names, 4)
    assert make_groups(eegmmidb_names[::-1], given) is given
    with pytest.raises(ValueError, match=r"missing from the groups \['Oz'\]"):
        make_groups([*NAMES, "Oz"], anatomical_groups(NAMES))
    with pytest.raises(ValueError, match="grouping"):
        make_groups(NAMES, grouping="random")
    with pytest.raises(TypeError, match="groups"):
        make_groups(NAMES, 4)
    with pytest.raises(TypeError, match="needs groups= .* or grouping="):
        make_groups(NAMES)


@pytest.mark.parametrize("grouping", ["anatomical", "all", "pivot", "single"])
def test_make_groups_max_size(grouping):
    """Groups larger than max_size are split around pivots, each within its group; given partitions are checked."""
    made = make_groups(NAMES, grouping=grouping, group_size=6)
    split = make_groups(NAMES, grouping=grouping, group_size=6, max_size=4)
    split.check_partition(NAMES)
    assert split.method == made.method and max(split.sizes) <= 4
    assert all(any(set(part) <= set(group) for group in made.groups) for part in split.groups)
    if max(made.sizes) <= 4:
        assert split == made
    regions = {"left": NAMES[:10], "right": NAMES[10:]}
    assert max(make_groups(NAMES, regions, max_size=3).sizes) <= 3
    with pytest.raises(ValueError, match="up to 19 channels, more than the 4 allowed"):
        make_groups(NAMES, make_groups(NAMES, grouping="all"), max_size=4)
    with pytest.raises(ValueError, match="max_size must be at least 1"):
        make_groups(NAMES, grouping="all", max_size=0)


def test_groups_are_partitions_and_grouping_methods():
    """groups= takes a partition and grouping= a method; a method as groups= warns, both at once fail."""
    assert resolve_groups(None, None) is None
    assert resolve_groups(None, "pivot") == "pivot"
    given = anatomical_groups(NAMES)
    assert resolve_groups(given, None) is given
    with pytest.warns(FutureWarning, match=r"use grouping='pivot'"):
        assert resolve_groups("pivot", None) == "pivot"
    with pytest.warns(FutureWarning, match="use grouping="):
        assert make_groups(NAMES, "anatomical") == anatomical_groups(NAMES)
    with pytest.raises(TypeError, match="not both"):
        resolve_groups(given, "pivot")
    with pytest.raises(ValueError, match="grouping"):
        resolve_groups(None, "nearest")
    assert group_kwargs("pivot") == {"grouping": "pivot"} and group_kwargs(given) == {"groups": given}


def test_plot_group_probabilities():
    fig = plot_group_probabilities(show=False)
    ax = fig.axes[0]
    assert "Cz" in ax.get_title()
    plt.close(fig)
    fig, ax = plt.subplots()
    assert plot_group_probabilities("EEG T3-REF", TUH, weight_fn=lambda d: 1 / (1 + d), axes=ax, show=False) is fig
    assert "EEG T3-REF" in ax.get_title()
    plt.close(fig)
