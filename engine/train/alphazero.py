"""AlphaZero learner: samples the replay window, trains policy and value, publishes snapshots.

Loss per network: cross-entropy between the search policy and the masked network policy, plus
`value_weight` x squared error between the value and its target (the game's result z, mixed with
the root search value by `q_mix`); weight decay through AdamW. A network with ownership and score
heads (Go, `network.aux_heads`) adds KataGo's auxiliary losses on the positions of games that
reached their end: 1.5 x the mean over points of the binary cross-entropy of each point's owner,
and 0.02 x (the score belief's cross-entropy against the final margin + the squared error of its
cumulative distribution). Every batch goes through a random board symmetry per position. With
`networks = "per_player"` each seat's network trains only on its seat's positions. The learner's
full state (weights, optimizer, step, sample count) is saved next to each snapshot, so a resumed
run continues where it stopped.

A Learner knows its home directory and seed, not what it is for: the league gives each of its
agents one (league/run/session.py). `reset` restarts from fresh weights and optimizer, and from
then on trains only on the games the fresh weights play; `extra_state` keeps its owner's counters
with the learner state, so they survive kills as the weights do.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from engine import rundir
from engine.nn import checkpoint
from engine.config import RunConfig
from engine.nn import low_precision
from engine.nn import Heads, build, has_aux_heads, score_bins
from engine.train.actor import store_meta
from engine.data import Batch, ReplayWindow

STATE_FILE = rundir.LEARNER_STATE
EXTRA_STATE_KEY = "role"  # extra_state's key in STATE_FILE, as runs written before have it
OWNERSHIP_WEIGHT = 1.5  # KataGo's weights of its auxiliary losses
SCORE_WEIGHT = 0.02


def augment(batch: Batch, symmetries, rng: np.random.Generator) -> Batch:
    """Apply an independently drawn symmetry to each position (grouped, so numpy does the work)."""
    if len(symmetries) <= 1:
        return batch
    which = rng.integers(len(symmetries), size=len(batch.obs))
    obs, legal, policy = batch.obs.copy(), batch.legal.copy(), batch.policy.copy()
    ownership = None if batch.ownership is None else batch.ownership.copy()
    for k, sym in enumerate(symmetries[1:], start=1):
        rows = np.flatnonzero(which == k)
        if len(rows):
            obs[rows] = sym.obs(batch.obs[rows])
            legal[rows] = batch.legal[rows][:, sym.perm]
            policy[rows] = batch.policy[rows][:, sym.perm]
            if ownership is not None:  # points are the board's actions (Go's pass, the last, stays put)
                ownership[rows] = batch.ownership[rows][:, sym.perm[:ownership.shape[1]]]
    # The action played is not moved with the board: dropped, as no learner reads it after this.
    return dataclasses.replace(batch, obs=obs, legal=legal, policy=policy, ownership=ownership, action=None,
                               learner_step=None)


def score_target(margin: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """[B, bins] distributions of final margins over the score bins: all in a margin's own bin, or
    split between the two beside it in proportion (an integer margin half in each), so the belief's
    mean is the margin; margins beyond the bins go to the end bin."""
    pos = margin.clamp(bins[0], bins[-1]) - bins[0]  # bins are one point apart
    lo = pos.floor().long().clamp(max=len(bins) - 2)
    frac = (pos - lo).unsqueeze(1)
    target = torch.zeros(len(margin), len(bins), device=margin.device)
    target.scatter_(1, lo.unsqueeze(1), 1 - frac)
    return target.scatter_add_(1, lo.unsqueeze(1) + 1, frac)


def aux_losses(heads: Heads, batch: Batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(ownership loss, score loss) over the batch's rows with auxiliary targets, unweighted: the
    mean over points of the owners' binary cross-entropy; the score belief's cross-entropy plus the
    summed squared error of its cumulative distribution."""
    rows = torch.from_numpy(np.flatnonzero(batch.aux)).to(device)
    owner = torch.from_numpy(batch.ownership).to(device)[rows]
    # Binary cross-entropy of (1 + owner) / 2 against (1 + tanh(o)) / 2 = sigmoid(2 o), from logits
    ownership = F.binary_cross_entropy_with_logits(2 * heads.ownership.float()[rows], (1 + owner) / 2)
    bins = score_bins(owner.shape[1]).to(device)
    target = score_target(torch.from_numpy(batch.score).to(device)[rows], bins)
    log_belief = F.log_softmax(heads.score.float()[rows], dim=1)
    pdf = -(target * log_belief).sum(1).mean()
    cdf = (log_belief.exp().cumsum(1) - target.cumsum(1)).square().sum(1).mean()
    return ownership, pdf + cdf


def networks(spec, config: RunConfig, device: torch.device) -> tuple[list[torch.nn.Module], list[torch.optim.Optimizer]]:
    """The learner's networks (one shared, or one per seat with `networks = "per_player"`) and an
    AdamW optimizer for each."""
    count = spec.num_players if config.networks == "per_player" else 1
    # NHWC weights, as the evaluator's copies are: bfloat16 convolutions run faster on them
    models = [build(config.network, spec.encoder.shape, spec.num_actions, spec.has_ownership).to(
        device, memory_format=torch.channels_last) for _ in range(count)]
    optimizers = [torch.optim.AdamW(m.parameters(), lr=config.train.learning_rate,
                                    weight_decay=config.train.weight_decay) for m in models]
    return models, optimizers


class Learner:
    """The AlphaZero learner (an engine.train.kinds.RestartableLearner)."""

    def __init__(self, spec, config: RunConfig, run_dir: Path, device: torch.device | None = None,
                 seed: int | None = None) -> None:
        """`run_dir`: its home (snapshots/, trajectories/, learner.pt); `seed`: its own (default:
        the run's)."""
        self.spec = spec
        self.config = config
        self.run_dir = Path(run_dir)
        self.device = device or torch.device("cpu")
        self.seed = config.seed if seed is None else seed
        torch.manual_seed(self.seed)
        self.models, self.optimizers = networks(spec, config, self.device)
        # Mixed precision where the hardware multiplies bfloat16 natively: forward and backward in
        # bfloat16, weights, optimizer and losses in float32.
        self.low_precision = low_precision(self.device)
        self.window = ReplayWindow(self.run_dir / "trajectories", store_meta(spec), config.train.window)
        self.rng = np.random.default_rng(self.seed + 7919)
        self.step = 0
        self.samples = 0  # positions drawn, for the reuse cap
        self.last_losses: dict[str, float] = {}
        self.since = 0  # train only on games of weights from this step on: set by `reset`
        self.resets = 0
        self.extra_state: dict[str, int] = {}  # the owner's counters, saved and resumed with the weights
        # The reuse cap counts positions across sessions: `_counted` from earlier sessions (and
        # since the last reset), plus this session's loads after `_base`. A resumed window reloads
        # only the newest `train.window` positions, which were counted already; were they counted
        # again the cap would be too low and the learner would idle until the actors caught up.
        self._counted = 0
        self._base: int | None = 0  # None until a resumed learner's first refresh

    # ---- state ------------------------------------------------------------------------------

    def resume(self) -> bool:
        """Load the learner state of an earlier session of this run, if there is one."""
        data = checkpoint.load_learner_state(self.run_dir / STATE_FILE, self.spec.game_string)
        if not isinstance(data, dict):  # damaged (now in quarantine) or missing: a snapshot stands in
            return self._resume_from(data)
        for model, weights in zip(self.models, data["weights"]):
            model.load_state_dict(weights)
        for opt, state in zip(self.optimizers, data["optimizers"]):
            opt.load_state_dict(state)
        self.step = int(data["step"])
        self.samples = int(data["samples"])
        # States from before `counted` existed: assume the cap was reached, as it usually is.
        self._counted = int(data.get("counted", math.ceil(self.samples / self.config.train.max_reuse)))
        self._base = None
        self.since, self.resets = int(data.get("since", 0)), int(data.get("resets", 0))
        self.extra_state = dict(data.get(EXTRA_STATE_KEY, {}))
        return True

    def _resume_from(self, snap: checkpoint.Snapshot | None) -> bool:
        """Resume from a snapshot alone (the learner state unreadable or missing): its weights and step, a
        fresh optimizer, the reuse cap counted from this session's window."""
        if snap is None:
            return False
        for model, weights in zip(self.models, snap.weights):
            model.load_state_dict(weights)
        self.step = snap.step
        return True

    def reset(self) -> None:
        """Fresh weights (a new draw, repeatable from the seed) and optimizer. The step moves on by
        one, so the fresh weights get a snapshot of their own, and from then on the learner trains
        only on the games they play: the old weights' games would teach the old strategy back."""
        self.resets += 1
        torch.manual_seed(int(np.random.SeedSequence([self.seed, self.resets]).generate_state(1)[0]))
        self.models, self.optimizers = networks(self.spec, self.config, self.device)
        self.step += 1
        self.since = self.step
        self.samples, self._counted, self._base = 0, 0, self.window.positions_loaded

    def publish(self) -> Path:
        """Write the learner state for the current step, then its snapshot.

        In this order a kill between the two leaves a state whose snapshot is missing (the next
        session re-publishes it from the same weights), never a snapshot ahead of the state, which
        would make the resumed learner redo those steps and overwrite that snapshot with others.
        """
        checkpoint.atomic_save({
            "step": self.step, "samples": self.samples, "counted": self.counted_positions,
            "since": self.since, "resets": self.resets, EXTRA_STATE_KEY: self.extra_state,
            "weights": checkpoint.state_dicts(self.models),
            "optimizers": [opt.state_dict() for opt in self.optimizers],
        }, self.run_dir / STATE_FILE)
        path = checkpoint.snapshot_path(self.run_dir, self.step)
        checkpoint.save_snapshot(path, self.spec.game_string, self.config.network, tuple(self.spec.encoder.shape),
                                 self.spec.num_actions, self.step, self.models)
        return path

    # ---- training ---------------------------------------------------------------------------

    def refresh(self) -> int:
        added = self.window.refresh()
        if self._base is None:  # a resumed learner's first load: positions counted before
            self._base = self.window.positions_loaded
        return added

    @property
    def counted_positions(self) -> int:
        """Positions the reuse cap allows samples of (max_reuse each), over all sessions."""
        return self._counted + self.window.positions_loaded - (self._base or 0)

    def ready(self) -> bool:
        """Enough data, and not yet past the reuse cap of what the actors have produced."""
        tc = self.config.train
        held = len(self.window.played_by(self.since)) if self.since else self.window.positions
        if held < max(tc.min_positions, 1):
            return False
        return self.samples < tc.max_reuse * self.counted_positions

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def train_step(self) -> dict[str, float]:
        """One update; its losses, the network policy's entropy on the batch and the learning rate
        (averaged over the networks)."""
        tc = self.config.train
        losses = {"policy": 0.0, "value": 0.0, "entropy": 0.0, "learning_rate": 0.0}
        for seat, (model, opt) in enumerate(zip(self.models, self.optimizers)):
            seat_or_all = seat if len(self.models) > 1 else None
            rows = self.window.played_by(self.since, seat_or_all) if self.since else None
            batch = self.window.sample(tc.batch_size, self.rng, seat_or_all, rows)
            batch = augment(batch, self.spec.symmetries, self.rng)
            model.train()
            x = self._tensor(batch.obs.astype(np.float32, copy=False))
            if x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            aux = has_aux_heads(model) and batch.aux is not None and bool(batch.aux.any())
            with torch.autocast(self.device.type, dtype=self.low_precision or torch.float32,
                                enabled=self.low_precision is not None):
                heads = model.heads(x) if aux else None
                logits, value = heads[:2] if heads is not None else model(x)
            logits, value = logits.float(), value.float()
            logits = logits.masked_fill(~self._tensor(batch.legal), -1e9)
            target_pi = self._tensor(batch.policy)
            target_pi = target_pi / target_pi.sum(1, keepdim=True).clamp_min(1e-8)
            log_pi = F.log_softmax(logits, dim=1)
            policy_loss = -(target_pi * log_pi).sum(1).mean()
            z = (1 - tc.q_mix) * batch.value + tc.q_mix * batch.root_value
            value_loss = F.mse_loss(value, self._tensor(z.astype(np.float32)))
            loss = policy_loss + tc.value_weight * value_loss
            if heads is not None:
                ownership_loss, score_loss = aux_losses(heads, batch, self.device)
                loss = loss + OWNERSHIP_WEIGHT * ownership_loss + SCORE_WEIGHT * score_loss
                for key, part in (("ownership", ownership_loss), ("score", score_loss)):
                    losses[key] = losses.get(key, 0.0) + part.item() / len(self.models)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses["policy"] += policy_loss.item() / len(self.models)
            losses["value"] += value_loss.item() / len(self.models)
            with torch.no_grad():  # illegal moves: probability 0 times a finite log, so 0
                entropy = -(log_pi.exp() * log_pi).sum(1).mean()
            losses["entropy"] += entropy.item() / len(self.models)
            losses["learning_rate"] += opt.param_groups[0]["lr"] / len(self.models)
            self.samples += tc.batch_size
        self.step += 1
        self.last_losses = losses
        return losses
