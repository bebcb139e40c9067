"""Board symmetries for training-data augmentation.

A symmetry moves every cell of the board; it acts on encodings (``obs``) and on policies
(``policy[..., perm]``). Both are derived from ONE spatial transform, so they cannot drift apart:
``perm`` is that transform applied to a grid of action indices.

* square boards whose actions are cells (tic_tac_toe, go; go's pass maps to itself): the 8 dihedral maps;
* connect_four: the left-right mirror (actions are columns);
* hex: the 180° rotation, which also swaps OpenSpiel's north/south and west/east edge planes;
* anything else, flat encoders included: identity only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyspiel

from games.encoders import BoardEncoder, Encoder, GoEncoder

# OpenSpiel hex observation planes are indexed by cell state + 4: white-win, white-west, white-east,
# white, empty, black, black-north, black-south, black-win. A 180° turn swaps the edges.
_HEX_CHANNELS_180 = [0, 2, 1, 3, 4, 5, 7, 6, 8]


@dataclass(frozen=True, eq=False)
class Symmetry:
    """One board symmetry.

    ``perm[a_new]`` is the old action that the symmetry maps onto ``a_new``, so a policy over the
    original actions becomes ``policy[..., perm]``. ``obs`` transforms encodings ``[..., C, H, W]``:
    flip the last axis if ``flip``, then rotate ``rot`` quarter turns, then permute channels.
    """

    name: str
    perm: np.ndarray
    rot: int = 0
    flip: bool = False
    channels: np.ndarray | None = field(default=None)

    def obs(self, x: np.ndarray) -> np.ndarray:
        """Transform one encoding or a batch of them (often a view: copy before writing into it)."""
        x = _move_cells(x, self.rot, self.flip)
        if self.channels is not None:
            x = x[..., self.channels, :, :]
        return x

    def action(self, a: int) -> int:
        """Where the symmetry sends original action `a` (the inverse of `perm`)."""
        return int(np.flatnonzero(self.perm == a)[0])


def _move_cells(x: np.ndarray, rot: int, flip: bool) -> np.ndarray:
    """The spatial part of a symmetry, on the last two axes; shared by obs and perm."""
    if flip:
        x = x[..., ::-1]
    if rot:
        x = np.rot90(x, rot, axes=(-2, -1))
    return x


def identity(num_actions: int) -> Symmetry:
    return Symmetry("identity", np.arange(num_actions, dtype=np.int64))


def _spatial(name: str, grid: np.ndarray, num_actions: int, rot: int = 0, flip: bool = False,
             channels: np.ndarray | None = None) -> Symmetry:
    """A symmetry whose perm comes from transforming `grid`, the action index of each cell.

    Actions not on the grid (Go's pass) map to themselves.
    """
    # The cell at new position p held action moved[p] before the transform: perm[new] = old.
    moved = _move_cells(grid, rot, flip)
    perm = np.arange(num_actions, dtype=np.int64)
    perm[grid.ravel()] = moved.ravel()
    return Symmetry(name, perm, rot, flip, channels)


def _dihedral(n: int, num_actions: int) -> list[Symmetry]:
    """The 8 symmetries of an n x n board whose cell (r, c) is action r * n + c."""
    grid = np.arange(n * n, dtype=np.int64).reshape(n, n)
    out = [identity(num_actions)]
    for flip in (False, True):
        for rot in range(4):
            if flip or rot:
                name = "-".join(["flip"] * flip + [f"rot{90 * rot}"] * bool(rot))
                out.append(_spatial(name, grid, num_actions, rot, flip))
    return out


def symmetries_for(game: pyspiel.Game, preset: Any = None, encoder: Encoder | None = None) -> list[Symmetry]:
    """The symmetries of `game` under `encoder`, identity first."""
    num_actions = game.num_distinct_actions()
    family = game.get_type().short_name
    if not isinstance(encoder, (BoardEncoder, GoEncoder)):
        return [identity(num_actions)]
    _, h, w = encoder.shape
    if family == "go":
        return _dihedral(h, num_actions)  # pass (n*n) is off the grid, so fixed
    if family == "tic_tac_toe" and h == w and num_actions == h * w:
        return _dihedral(h, num_actions)
    if family == "connect_four" and num_actions == w:
        # Actions are columns: mirror a one-row grid of them.
        columns = np.arange(w, dtype=np.int64)[None, :]
        return [identity(num_actions), _spatial("mirror", columns, num_actions, flip=True)]
    if family == "hex" and num_actions == h * w:
        grid = np.arange(h * w, dtype=np.int64).reshape(h, w)
        planes = encoder.shape[0]
        # Full OpenSpiel hex tensor (9 planes + our to-move plane): edge-connection planes swap.
        channels = np.array(_HEX_CHANNELS_180 + [9]) if planes == 10 else None
        return [identity(num_actions), _spatial("rot180", grid, num_actions, rot=2, channels=channels)]
    return [identity(num_actions)]
