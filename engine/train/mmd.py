"""Magnetic mirror descent (Sokota et al., ICLR 2023): the learner of imperfect-information games.

No search over hidden state: actors sample actions from the policy network on their information
states (engine/train/policy_actor.py) and store the games in the HDF5 store like any other. One update
of this learner is one mirror-descent step, and publishes one snapshot:

1. wait for `mmd.positions_per_update` positions played by the current policy pi_t (on-policy:
   the store records which weights played each game);
2. fit the critic Q(s, a) (an MLP whose action head gives Q) to the returns that followed each
   action, scaled to [-1, 1]; it keeps its weights between updates, so each fit is a refinement;
3. fit the policy to the closed-form step on every information state reached,
       pi_{t+1}(s) ∝ (pi_t(s) * rho(s)^(alpha*eta) * exp(eta * Q(s)))^(1 / (1 + alpha*eta)),
   by cross-entropy, where rho is the magnet: an exponential average of the policy's weights over
   the last `mmd.magnet_every` updates or so. The magnet term keeps the iterates from cycling
   (last-iterate convergence, unlike plain self-play policy gradient); moving it lets them
   approach a Nash equilibrium instead of a regularized one.
   The actors' behaviour sigma_t keeps every legal action at `mmd.exploration_floor` (3%) of the
   uniform policy at least, so none is ever dropped from the data: a dropped action is never
   sampled again, and the critic's error on it would then go uncorrected. The floor only raises
   what falls below it (a mix would pull every iterate towards uniform, to an equilibrium of the
   perturbed game); a smaller `mmd.exploration` (1%) of the uniform policy is mixed into all of
   sigma_t, which damps the critic's noise. The step starts from sigma_t, and pulls towards the
   magnet's behaviour; the policies a snapshot holds are without floor or mix.
4. publish a snapshot holding pi_{t+1} (the actors' next policy) and, as the output policy that
   bots, ratings and pool opponents play, the magnet, moved 1/`magnet_every` of the way to pi_{t+1}.
   The average is steadier than the iterates, and than a magnet that jumps to the policy now and
   then (docs/benchmarks.md).

Why MMD here and not NFSP or deep CFR: it converges in its last iterate (no average-policy
network to train: the magnet it keeps anyway serves as the output), needs only on-policy
trajectories (what the league's actors already produce), and one closed-form target per state makes each update a
supervised fit.
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from engine.nn import checkpoint
from engine.train import exploitability
from engine import rundir
from engine.config import RunConfig
from engine.train.alphazero import networks
from engine.train.actor import store_meta
from engine.data import Batch, ReplayWindow, list_segments

STATE_FILE = rundir.LEARNER_STATE
EXPLOITABILITY_FILE = "exploitability.jsonl"
MEASURE_SHARE = 0.1  # NashConv may take this share of the learner's time, at most


@torch.no_grad()
def trail(magnet: torch.nn.Module, model: torch.nn.Module, tau: float) -> None:
    """Move the magnet's weights a share `tau` of the way to the model's (integer buffers copied)."""
    for m, p in zip(magnet.state_dict().values(), model.state_dict().values()):
        if m.is_floating_point():
            m.lerp_(p, tau)
        else:
            m.copy_(p)


def mmd_target(log_pi: torch.Tensor, log_magnet: torch.Tensor, q: torch.Tensor, legal: torch.Tensor,
               eta: float, alpha: float) -> torch.Tensor:
    """The mirror-descent step's policy on each row, over legal actions (log-probabilities in,
    probabilities out; illegal actions get 0)."""
    logits = (log_pi + alpha * eta * log_magnet + eta * q) / (1 + alpha * eta)
    return torch.softmax(logits.masked_fill(~legal, float("-inf")), dim=-1)


def behaviour(probs: torch.Tensor, legal: torch.Tensor, mix: float, floor: float) -> torch.Tensor:
    """What the actors play for a policy `probs`: `mix` of the uniform policy mixed in, then every
    legal action raised to `floor` of the uniform policy where it is below, renormalized.

    The floor keeps each action tried (the critic's value of it checked) without pulling the
    others towards uniform; the small mix damps the critic's noise, which the floor alone lets
    accumulate (docs/benchmarks.md)."""
    if not (mix or floor):
        return probs
    uniform = legal.float() / legal.sum(-1, keepdim=True)
    p = (1 - mix) * probs + mix * uniform
    if floor:
        p = torch.maximum(p, floor * uniform)
        p = p / p.sum(-1, keepdim=True)
    return p


def _log_policy(model: torch.nn.Module, x: torch.Tensor, legal: torch.Tensor, mix: float = 0.0,
                floor: float = 0.0) -> torch.Tensor:
    """Log-probabilities of the model's policy, or of its behaviour when `mix` or `floor` is set."""
    logits = model(x)[0].masked_fill(~legal, float("-inf"))
    if mix or floor:
        log_p = torch.log(behaviour(torch.softmax(logits, dim=-1), legal, mix, floor))
    else:
        log_p = torch.log_softmax(logits, dim=-1)
    # Illegal entries become 0, not -inf: they are masked again by every consumer, and 0 keeps
    # the sums of mmd_target free of inf - inf.
    return log_p.masked_fill(~legal, 0.0)


class MMDLearner:
    """The MMD learner (an engine.train.kinds.LearnerProtocol, as engine.train.alphazero.Learner is)."""

    since = 0  # it never restarts fresh; `ready` and `train_step` pick the current weights' games

    def __init__(self, spec, config: RunConfig, run_dir: Path, device: torch.device | None = None) -> None:
        self.spec = spec
        self.config = config
        self.run_dir = Path(run_dir)
        self.device = device or torch.device("cpu")
        torch.manual_seed(config.seed)
        self.models, self.optimizers = networks(spec, config, self.device)
        self.critics, self.critic_optimizers = networks(spec, config, self.device)  # Q from the action head
        self.magnets = [copy.deepcopy(m).eval() for m in self.models]
        self.window = ReplayWindow(self.run_dir / "trajectories", store_meta(spec), config.train.window)
        self.rng = np.random.default_rng(config.seed + 7919)
        game = spec.game
        self.scale = config.mmd.return_scale or max(abs(game.min_utility()), abs(game.max_utility())) or 1.0
        self.step = 0
        self.last_losses: dict[str, float] = {}
        self._positions: dict[str, int] = {}  # positions per segment file, for _prune
        self.nash_conv = exploitability.NashConv(spec) if exploitability.supported(spec) else None
        # The last measurement: {"time", "step", "nash_conv" (the output policy: the magnet),
        # "iterate_nash_conv" (the current weights, which the actors play)}
        self.latest_nash_conv: dict[str, float] = {}
        self._measure_cost = 0.0
        self._measured_at = -math.inf

    # ---- state ------------------------------------------------------------------------------

    def _state(self) -> dict:
        weights = checkpoint.state_dicts
        return {"step": self.step, "weights": weights(self.models),
                "critics": weights(self.critics), "magnets": weights(self.magnets),
                "optimizers": [o.state_dict() for o in self.optimizers],
                "critic_optimizers": [o.state_dict() for o in self.critic_optimizers]}

    def resume(self) -> bool:
        data = checkpoint.load_learner_state(self.run_dir / STATE_FILE, self.spec.game_string)
        if not isinstance(data, dict):  # damaged (now in quarantine) or missing: a snapshot, fresh critics
            if data is None:
                return False
            data = {"step": data.step, "weights": data.weights, "magnets": data.output or data.weights}
        for models, key in ((self.models, "weights"), (self.critics, "critics"), (self.magnets, "magnets")):
            for model, weights in zip(models, data.get(key, [])):
                model.load_state_dict(weights)
        for opts, key in ((self.optimizers, "optimizers"), (self.critic_optimizers, "critic_optimizers")):
            for opt, state in zip(opts, data.get(key, [])):
                opt.load_state_dict(state)
        self.step = int(data["step"])
        return True

    def publish(self) -> Path:
        """Learner state first, then the snapshot (see engine.train.alphazero.Learner.publish for why)."""
        checkpoint.atomic_save(self._state(), self.run_dir / STATE_FILE)
        path = checkpoint.snapshot_path(self.run_dir, self.step)
        checkpoint.save_snapshot(path, self.spec.game_string, self.config.network, tuple(self.spec.encoder.shape),
                                 self.spec.num_actions, self.step, self.models, output=self.magnets)
        self._measure()
        return path

    def _measure(self) -> None:
        """NashConv of the snapshot just published, when the game is small enough and it is due:
        measurements are spaced so they take at most MEASURE_SHARE of the time."""
        now = time.monotonic()
        if self.nash_conv is None or now - self._measured_at < self._measure_cost / MEASURE_SHARE:
            return
        value = self.nash_conv(self.magnets)  # the output policy's, what bots play
        iterate = self.nash_conv(self.models)
        self._measured_at, self._measure_cost = now, time.monotonic() - now
        self.latest_nash_conv = {"time": time.time(), "step": self.step, "nash_conv": value,
                                 "iterate_nash_conv": iterate}
        self.last_losses = {**self.last_losses, "nash_conv": value}
        rundir.append_jsonl(self.run_dir / EXPLOITABILITY_FILE, self.latest_nash_conv)

    # ---- training ---------------------------------------------------------------------------

    def refresh(self) -> int:
        added = self.window.refresh()
        if added:
            self._prune()
        return added

    def _prune(self) -> None:
        """Keep the newest 2 x `train.window` positions on disk and delete older segments.

        An on-policy learner never reads games of older weights again, and self-play at hundreds
        of thousands of hands a minute would fill a disk in hours. Only segments the window has
        already read go, oldest first. The newest segment of every writer stays: a writer numbers
        its next segment after its last one on disk, and a reused name would look already read.
        """
        keep, total = 2 * self.config.train.window, 0
        segments = list_segments(self.window.directory)
        newest = {p.name.rsplit("-", 1)[0]: p for p in segments}  # oldest first: the last one wins
        for path in reversed(segments):
            if total >= keep and self.window.has_read(path) and newest[path.name.rsplit("-", 1)[0]] != path:
                path.unlink(missing_ok=True)
                self._positions.pop(path.name, None)
                continue
            if path.name not in self._positions:
                self._positions[path.name] = self.window.segment_positions(path)
            total += self._positions[path.name]

    def _fresh(self, seat: int | None) -> np.ndarray:
        return self.window.played_by(self.step, seat)

    def ready(self) -> bool:
        """Enough positions played by the current policy (every seat's, with per-player networks)."""
        need = self.config.mmd.positions_per_update
        if len(self.models) == 1:
            return len(self._fresh(None)) >= need
        return all(len(self._fresh(seat)) >= need // len(self.models) for seat in range(len(self.models)))

    def _tensors(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(np.ascontiguousarray(batch.obs, np.float32)).to(self.device)
        return x, torch.from_numpy(batch.legal).to(self.device)

    def train_step(self) -> dict[str, float]:
        """One mirror-descent update: critic fit, policy fit, then the magnet's move towards the
        policy. Returns its losses, the policy's entropy over the fit and the learning rate."""
        mc, tc = self.config.mmd, self.config.train
        losses = {"critic": 0.0, "policy": 0.0, "kl": 0.0, "entropy": 0.0, "learning_rate": 0.0}
        for seat, (model, critic, magnet, opt, copt) in enumerate(zip(
                self.models, self.critics, self.magnets, self.optimizers, self.critic_optimizers)):
            who = seat if len(self.models) > 1 else None
            fresh = self._fresh(who)
            rows = self.window.played_by(self.step - mc.critic_updates, who)  # fresh ones included
            steps = max(1, math.ceil(mc.epochs * len(fresh) / tc.batch_size))
            current = copy.deepcopy(model).eval()  # pi_t, frozen: the policy that played `rows`
            critic.train()
            for _ in range(steps):
                batch = self.window.sample(tc.batch_size, self.rng, rows=rows)
                x, _ = self._tensors(batch)
                q = critic(x)[0].gather(1, torch.from_numpy(batch.action.astype(np.int64))[:, None].to(self.device))
                z = torch.from_numpy(batch.value / self.scale).to(self.device)
                loss = F.mse_loss(q.squeeze(1), z)
                copt.zero_grad(set_to_none=True)
                loss.backward()
                copt.step()
                losses["critic"] += loss.item() / steps / len(self.models)
            critic.eval()
            model.train()
            for _ in range(steps):
                batch = self.window.sample(tc.batch_size, self.rng, rows=fresh)
                x, legal = self._tensors(batch)
                with torch.no_grad():
                    # The step starts from the policy the actors played (their behaviour) and
                    # pulls towards the magnet's behaviour alike; the snapshot stores the step alone.
                    mix, floor = mc.exploration, mc.exploration_floor
                    target = mmd_target(_log_policy(current, x, legal, mix, floor),
                                        _log_policy(magnet, x, legal, mix, floor),
                                        critic(x)[0], legal, mc.step_size, mc.magnet_weight)
                log_pi = _log_policy(model, x, legal)
                loss = -(target * log_pi).sum(1).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                # KL(target || pi): how far the fit is from the exact step (0 when it is exact).
                kl = (target * (torch.log(target.clamp_min(1e-12)) - log_pi)).sum(1).mean()
                losses["policy"] += loss.item() / steps / len(self.models)
                losses["kl"] += kl.item() / steps / len(self.models)
                # the policy's entropy over the fit (illegal entries of log_pi are 0, so they add 0)
                log_p = log_pi.detach()
                losses["entropy"] -= (log_p.exp() * log_p).sum(1).mean().item() / steps / len(self.models)
            losses["learning_rate"] += opt.param_groups[0]["lr"] / len(self.models)
            model.eval()
        self.step += 1
        # The magnet trails the policy, an exponential average of its weights (item 4 above).
        for magnet, model in zip(self.magnets, self.models):
            trail(magnet, model, 1.0 / mc.magnet_every)
        self.last_losses = losses
        return losses
