"""Which variables of a dataset are out of order: those outside the longest run already in the
expected order, so a variable moved out of place is named, not the neighbour it displaced."""

from __future__ import annotations

from bisect import bisect_left


def moved(names: list[str], position: dict[str, int]) -> list[str]:
    """The names (each in `position`) that have to move for all to stand in order."""
    kept = _in_order(names, position)
    return [name for name in names if name not in kept]


def _in_order(names: list[str], position: dict[str, int]) -> set[str]:
    """The longest subsequence of `names` already in SDTMIG order (patience sorting)."""
    tails: list[int] = []  # tails[k]: position of the last name of the best run of length k+1
    ends: list[int] = []  # index in names of that last name
    previous = [-1] * len(names)
    for index, name in enumerate(names):
        at = bisect_left(tails, position[name])
        if at == len(tails):
            tails.append(position[name])
            ends.append(index)
        else:
            tails[at], ends[at] = position[name], index
        previous[index] = ends[at - 1] if at else -1
    kept, index = set(), ends[-1] if ends else -1
    while index >= 0:
        kept.add(names[index])
        index = previous[index]
    return kept
