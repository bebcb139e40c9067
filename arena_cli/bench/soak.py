"""`arena bench soak`: a league run under kill -9, then a check that nothing was lost.

`arena league run GAME` runs as a subprocess in its own process group; at random moments the soak
kills one of its processes with SIGKILL: an actor process, the evaluator process, the learner (the
main process: its actors and evaluator then stop by themselves) or the whole process group. When
the main process died the soak runs the command again, which resumes the run. After `minutes` and
`kills` it stops the run cleanly (SIGINT, as Ctrl-C does), waits for every process it started to
end, and checks the run directory (`check_run`): every flushed game is in the ledger once and every
training game of the ledger in the store, every file reads, the learner never resumed behind a
snapshot it had published, the pool's files exist, and the ratings refit.

The processes are told apart by their names (engine.rundir.name_process: `arena-actor-K`,
`arena-evaluator`), found in the process tree of the command through /proc (Linux only).
"""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

KINDS = ("actor", "learner", "evaluator", "group")
# Shares of the kills: a kill of the main process costs a whole restart (tens of seconds on a loaded
# 2-core machine), so actors and the evaluator, which the session restarts itself, take more.
WEIGHTS = {"actor": 2.0, "learner": 1.0, "evaluator": 2.0, "group": 1.0}
REPLACE_SECONDS = 120.0  # an actor or the evaluator killed alone must be running again within this
UP_SECONDS = 240.0  # a (re)started command must write its first status within this
STOP_SECONDS = 240.0  # a clean stop (SIGINT) must end the command within this
ORPHAN_SECONDS = 180.0  # processes of killed sessions (an evaluator ending its job) must end within this
# The share of kill moments that hit a command still starting (before its first status and its
# actors): the rest wait for the session to be ready, so that it plays and trains between kills
# however slowly a loaded machine starts processes.
STARTUP_KILLS = 0.2

# Without --config the soak makes every write frequent, so that kills land on them: few games at a
# time (an actor's first games end seconds after it starts, not a minute), small segments flushed
# every few seconds, a snapshot every 20 steps, pool changes every 100, short rating jobs.
SOAK_CONFIG = """\
[selfplay]
concurrent_games = 4
flush_games = 4
flush_seconds = 2.0

[train]
min_positions = 500
snapshot_every = 20

[league]
pool_every = 100
eval_games = 4
"""


# ---- the process tree (/proc) ------------------------------------------------------------------

def _parents() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            # The name in parentheses may hold spaces: the fields after its last ')' are fixed.
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def descendants(pid: int) -> list[int]:
    parents = _parents()
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def session_processes(pid: int) -> dict[str, dict[int, str]]:
    """The actor and evaluator processes under the command's main process: {kind: {pid: name}}."""
    found: dict[str, dict[int, str]] = {"actor": {}, "evaluator": {}}
    for child in descendants(pid):
        name = process_name(child)
        if name.startswith("arena-actor-"):
            found["actor"][child] = name
        elif name == "arena-evaluator":
            found["evaluator"][child] = name
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---- the checks -------------------------------------------------------------------------------

def check_run(run_dir: Path) -> dict:
    """The invariants a run directory keeps after any kill: store and ledger agree, every file reads,
    the pool's files exist, the ratings refit. Returns the figures and a list of `problems`."""
    from engine import rundir
    from engine.data import list_segments, read_segment
    from engine.nn import checkpoint
    from engine.train import learner_kind
    import games as games_mod
    from league.ladder import ledger_ratings
    from league.ledger import Ledger
    from league.pool import Pool, snapshot_file
    from league.ratings import RatingConfig

    problems: list[str] = []
    corrupt: list[str] = []
    try:
        config = rundir.load_config(run_dir)
    except Exception as exc:  # without the config nothing else can be checked
        return {"corrupt": [f"{run_dir / 'config.toml'}: {exc}"], "problems": ["config.toml does not load"]}
    spec = games_mod.load(config.game)
    self_play = learner_kind(spec.learner).self_play
    homes = rundir.agent_homes(run_dir)

    stored: list[str] = []
    in_ledger_expected: set[str] = set()  # store-only games (a policy learner's self-play) are not
    segments = stray = 0
    for home in homes:
        for path in list_segments(home / "trajectories"):
            segments += 1
            try:
                g = read_segment(path).games  # every position too: a torn dataset fails here
            except Exception as exc:
                corrupt.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            for uid, players in zip(g["game_id"], g["participants"]):
                stored.append(str(uid))
                if self_play or len(set(players)) > 1:
                    in_ledger_expected.add(str(uid))
        stray += len(list((home / "trajectories").glob("*.tmp")))

    ledger_path = run_dir / "league.sqlite"
    recorded: list[str] = []
    try:
        db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
        try:
            verdict = [r[0] for r in db.execute("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                corrupt.append(f"{ledger_path}: integrity_check {verdict[:3]}")
            recorded = [r[0] for r in db.execute("SELECT uid FROM games WHERE kind = 'training'")]
        finally:
            db.close()
    except sqlite3.Error as exc:
        corrupt.append(f"{ledger_path}: {exc}")

    snapshots = 0
    for home in homes:
        for _, path in checkpoint.list_snapshots(home):
            snapshots += 1
            try:
                checkpoint.load_snapshot(path, spec.game_string)
            except Exception as exc:
                corrupt.append(f"{path}: {exc}")
        state = home / "learner.pt"
        if state.exists():
            try:
                checkpoint.load_file(state)
            except Exception as exc:
                corrupt.append(f"{state}: {exc}")
    for home in homes:
        for path in home.glob("*.json"):  # status, pool, matchmaking: written atomically
            try:
                json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                corrupt.append(f"{path}: {exc}")
    if not (run_dir / "status.json").exists():
        problems.append("no status.json")

    missing_pool = []
    try:
        pool = Pool(run_dir, config.league.pool_size)
        missing_pool = [s for s in pool.specs() if not (f := snapshot_file(run_dir, s)) or not f.exists()]
    except Exception as exc:
        corrupt.append(f"{run_dir / 'pool.json'}: {exc}")
    if missing_pool:
        problems.append(f"pool members without a snapshot file: {missing_pool}")

    rated = None
    try:
        ledger = Ledger.of_run(run_dir, create=False)
        rating_games = ledger.total(kinds=("rating",))
        fit = ledger_ratings(ledger, RatingConfig(anchor="random", resamples=20))
        rated = len(fit.table()) if fit is not None else 0
        if rating_games and not rated:
            problems.append(f"{rating_games} rating games but no ratings")
    except Exception as exc:
        problems.append(f"ratings do not refit: {type(exc).__name__}: {exc}")
        rating_games = 0

    stored_set, recorded_set = set(stored), set(recorded)
    not_in_ledger = sorted(in_ledger_expected - recorded_set)
    not_in_store = sorted(recorded_set - stored_set)
    duplicates = (len(stored) - len(stored_set)) + (len(recorded) - len(recorded_set))
    if not_in_ledger or not_in_store:
        problems.append(f"games lost: {len(not_in_ledger)} flushed but not in the ledger (e.g. {not_in_ledger[:3]}), "
                        f"{len(not_in_store)} in the ledger but not in the store (e.g. {not_in_store[:3]})")
    if duplicates:
        problems.append(f"{duplicates} games stored or recorded twice")
    if corrupt:
        problems.append(f"{len(corrupt)} unreadable files: {corrupt[:3]}")
    return {"games_flushed": len(stored_set), "games_lost": len(not_in_ledger) + len(not_in_store),
            "not_in_ledger": len(not_in_ledger), "not_in_store": len(not_in_store), "duplicate_games": duplicates,
            "corrupt_files": len(corrupt), "corrupt": corrupt, "segments": segments, "stray_tmp_files": stray,
            "snapshots": snapshots, "pool_missing": len(missing_pool), "rating_games": rating_games,
            "rated_players": rated, "problems": problems}


def learner_state_step(run_dir: Path) -> int:
    """The step a resumed learner starts from (its learner.pt); 0 without one."""
    from engine.nn import checkpoint

    path = run_dir / "learner.pt"
    return int(checkpoint.load_file(path)["step"]) if path.exists() else 0


def snapshot_step(run_dir: Path) -> int:
    """The newest published snapshot's step; -1 before the first."""
    from engine.nn import latest_snapshot

    found = latest_snapshot(run_dir)
    return found[0] if found else -1


# ---- the soak ---------------------------------------------------------------------------------

@dataclass
class Soak:
    game: str
    home: Path  # ARENA_HOME of the command
    name: str  # the run's name under it
    config: Path
    actors: int
    rng: random.Random
    out: TextIO = sys.stderr
    kills: Counter = field(default_factory=Counter)
    replaced: Counter = field(default_factory=Counter)  # actors and evaluators the session restarted
    launches: int = 0
    groups: list[int] = field(default_factory=list)  # every process group started (orphans live on in theirs)
    resumes: list[dict] = field(default_factory=list)  # per restart: the snapshot seen before the kill, the step resumed
    problems: list[str] = field(default_factory=list)
    crashes: int = 0
    startup_kills: int = 0  # kills that hit a command before it was ready
    proc: subprocess.Popen | None = None
    launched_at: float = 0.0
    up: bool = False  # the session wrote its first status
    ready: bool = False  # ... all its actors run and it flushed a segment: kills land on a run that writes
    segments_at_launch: int = 0
    slow_said: bool = False  # a session not ready within UP_SECONDS is reported once
    pending: list[tuple[str, int, str, float]] = field(default_factory=list)  # (kind, old pid, name, deadline)
    started: float = field(default_factory=time.monotonic)

    @property
    def run_dir(self) -> Path:
        return self.home / self.name

    def say(self, line: str) -> None:
        print(f"[soak {time.monotonic() - self.started:7.1f}s] {line}", file=self.out, flush=True)

    def launch(self) -> None:
        cmd = [sys.executable, "-m", "arena_cli", "league", "run", self.game, "--run", self.name, "--no-live",
               "--actors", str(self.actors), "--config", str(self.config)]
        env = {**os.environ, "ARENA_HOME": str(self.home), "PYTHONUNBUFFERED": "1"}
        with open(self.log, "a") as log:
            log.write(f"\n=== launch {self.launches + 1} at {time.strftime('%H:%M:%S')}: {' '.join(cmd)}\n")
            log.flush()
            self.proc = subprocess.Popen(cmd, cwd=self.home, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.launches += 1
        self.groups.append(self.proc.pid)
        self.launched_at, self.up, self.ready, self.slow_said = time.time(), False, False, False
        self.segments_at_launch = self.segments()

    def segments(self) -> int:
        """Flushed segments in the run's stores (main's and any other agent's)."""
        from engine import rundir
        from engine.data import list_segments
        return sum(len(list_segments(h / "trajectories")) for h in rundir.agent_homes(self.run_dir))

    @property
    def log(self) -> Path:
        return self.home / f"{self.name}-soak.log"

    def status(self) -> dict | None:
        try:
            return json.loads((self.run_dir / "status.json").read_text())
        except (OSError, ValueError):
            return None

    def watch(self) -> None:
        """Between kills: notice a session coming up (its step must not be behind the one it resumed),
        actors and evaluators coming back, and a command that ended without being killed."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            self.crashes += 1
            self.problems.append(f"the command ended by itself (exit {self.proc.returncode}); see {self.log}")
            self.say(f"CRASH: the command ended by itself with exit {self.proc.returncode}; restarting")
            self.launch()
            return
        if not self.up:
            status = self.status()
            if status and status.get("updated", 0) > self.launched_at:
                self.up = True
                if self.resumes and "first_step" not in self.resumes[-1]:
                    last = self.resumes[-1]
                    last["first_step"] = status["step"]
                    if status["step"] < last["resumed"]:
                        self.problems.append(f"a session started at step {status['step']}, behind its learner "
                                             f"state's {last['resumed']}")
            elif time.time() - self.launched_at > UP_SECONDS:
                self.problems.append(f"a session wrote no status within {UP_SECONDS:.0f} s")
                self.launched_at = time.time()  # said once per stretch
        if self.up and not self.ready:
            self.ready = (len(session_processes(self.proc.pid)["actor"]) >= self.actors
                          and self.segments() > self.segments_at_launch)
        if not self.ready and not self.slow_said and time.time() - self.launched_at > UP_SECONDS:
            self.problems.append(f"a session flushed no game within {UP_SECONDS:.0f} s of starting")
            self.slow_said = True
        if self.pending:
            running = session_processes(self.proc.pid)
            for item in list(self.pending):
                kind, old, name, deadline = item
                if any(pid != old and n == name for pid, n in running[kind].items()):
                    self.replaced[kind] += 1
                    self.pending.remove(item)
                elif time.monotonic() > deadline:
                    self.problems.append(f"{name} killed alone was not restarted within {REPLACE_SECONDS:.0f} s")
                    self.pending.remove(item)

    def kill(self) -> None:
        """Kill -9 one process of the command, or its whole group; restart the command when its main
        process died. Kinds come in the shares of WEIGHTS (the one furthest below its share of those
        running), the process and the moment at random."""
        assert self.proc is not None
        running = session_processes(self.proc.pid)
        available = [k for k in KINDS if k in ("learner", "group") or running[k]]
        behind = min(self.kills[k] / WEIGHTS[k] for k in available)
        kind = self.rng.choice([k for k in available if self.kills[k] / WEIGHTS[k] == behind])
        seen = snapshot_step(self.run_dir)
        status = self.status() or {}
        if kind in ("actor", "evaluator"):
            pid = self.rng.choice(sorted(running[kind]))
            name = running[kind][pid]
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # ended meanwhile: try again at the next moment
                return
            self.kills[kind] += 1
            self.pending.append((kind, pid, name, time.monotonic() + REPLACE_SECONDS))
            self.say(f"kill {sum(self.kills.values())}: {name} (pid {pid}); step {status.get('step', '-')}")
            return
        if kind == "learner":
            self.proc.kill()
        else:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.kills[kind] += 1
        self.pending.clear()  # the next session starts its own
        resumed = learner_state_step(self.run_dir)
        self.resumes.append({"kill": kind, "snapshot_seen": seen, "resumed": resumed})
        if resumed < seen:
            self.problems.append(f"after a {kind} kill the learner resumes at step {resumed}, behind snapshot {seen}")
        what = "the learner (main process)" if kind == "learner" else "the whole process group"
        self.say(f"kill {sum(self.kills.values())}: {what}; snapshot seen {seen}, resumes at {resumed}")
        self.launch()

    def wait_up(self) -> None:
        end = time.monotonic() + UP_SECONDS
        while not self.up and time.monotonic() < end:
            self.watch()
            time.sleep(0.5)

    def stop(self) -> int | None:
        """Ctrl-C the command, then wait for it and for every process of earlier sessions to end."""
        assert self.proc is not None
        self.wait_up()  # a command killed before its signal handlers are set would print a traceback
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.problems.append(f"a clean stop (SIGINT) did not end the command within {STOP_SECONDS:.0f} s")
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait()
        if rc != 0:
            self.problems.append(f"the clean stop ended with exit {rc}; see {self.log}")
        end = time.monotonic() + ORPHAN_SECONDS
        while any(group_alive(g) for g in self.groups) and time.monotonic() < end:
            time.sleep(0.5)
        left = [g for g in self.groups if group_alive(g)]
        if left:
            self.problems.append(f"processes of {len(left)} sessions still ran {ORPHAN_SECONDS:.0f} s after the "
                                 "stop (killed)")
            for g in left:
                os.killpg(g, signal.SIGKILL)
        return rc

    def tracebacks(self) -> list[str]:
        """The last line of each traceback the command's processes printed (none is expected: a
        SIGKILL prints nothing)."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        found, inside = [], False
        for line in lines:
            if line.startswith("Traceback"):
                inside = True
            elif inside and line and not line.startswith((" ", "\t")):
                found.append(line[:300])
                inside = False
        return found


def bench_soak(game: str = "connect_four", minutes: float = 20.0, kills: int = 100, actors: int = 2,
               config: str | None = None, run: str | None = None, interval: float | None = None,
               seed: int | None = None, out: TextIO = sys.stderr) -> dict:
    """Run the soak; returns its figures, `ok` False when an invariant failed. `run`: a run directory
    to use (kept); by default a temporary one, deleted when every check passed."""
    import shutil

    import games as games_mod
    from engine.config import ConfigError
    from engine.train import learner_kind

    spec = games_mod.load(game)
    if learner_kind(spec.learner).name != "alphazero":
        # A policy learner deletes old segments by design, so the store no longer holds every game.
        raise ConfigError(f"bench soak needs an AlphaZero game (connect_four, tic_tac_toe, ...); {game} is "
                          f"served by {spec.learner}")
    if minutes <= 0 or kills < 1 or actors < 1:
        raise ConfigError("bench soak needs --minutes > 0, --kills >= 1 and --actors >= 1")
    if run:
        run_dir = Path(run).resolve()
        home, name, keep = run_dir.parent, run_dir.name, True
        home.mkdir(parents=True, exist_ok=True)
    else:
        home, name, keep = Path(tempfile.mkdtemp(prefix="arena-soak-")), "soak", False
    if config:
        config_path = Path(config).resolve()
    else:
        config_path = home / f"{name}-soak.toml"
        config_path.write_text(SOAK_CONFIG)
    interval = interval or 60.0 * minutes / kills
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    soak = Soak(game, home, name, config_path, actors, random.Random(seed), out)
    soak.say(f"soaking {game} in {soak.run_dir} for {minutes} min and {kills} kills, one every ~{interval:.1f} s "
             f"(seed {seed}); log {soak.log}")
    soak.launch()
    next_kill = time.monotonic() + soak.rng.uniform(0.5, 1.5) * interval
    try:
        while True:
            soak.watch()
            now = time.monotonic()
            if now - soak.started >= 60 * minutes and sum(soak.kills.values()) >= kills:
                if soak.ready or soak.slow_said:  # the last session resumed and wrote (or is reported)
                    break
            elif now >= next_kill:
                if soak.ready or soak.rng.random() < STARTUP_KILLS:
                    soak.startup_kills += not soak.ready
                    soak.kill()
                    next_kill = time.monotonic() + soak.rng.uniform(0.5, 1.5) * interval
                else:  # the next moment is drawn once the session is ready
                    next_kill = float("inf")
            if next_kill == float("inf") and soak.ready:
                next_kill = now + soak.rng.uniform(0.5, 1.5) * interval
            time.sleep(0.2)
        kill_minutes = (time.monotonic() - soak.started) / 60
        soak.say("stopping cleanly (SIGINT)")
        soak.stop()
    except BaseException:
        if soak.proc is not None:
            for g in soak.groups:
                if group_alive(g):
                    os.killpg(g, signal.SIGKILL)
        raise
    checks = check_run(soak.run_dir)
    try:
        final_step = learner_state_step(soak.run_dir)
    except Exception:
        final_step = None  # counted among the corrupt files already
    steps = [r["resumed"] for r in soak.resumes]
    problems = soak.problems + checks.pop("problems")
    ok = not problems
    result = {
        "bench": "soak", "game": game, "ok": ok, "seed": seed, "kill_interval_s": round(interval, 2),
        "minutes": round(kill_minutes, 2), "total_minutes": round((time.monotonic() - soak.started) / 60, 2),
        "kills": sum(soak.kills.values()), "kills_by_kind": {k: soak.kills[k] for k in KINDS},
        "restarts": {"command": soak.launches - 1, "actor": soak.replaced["actor"],
                     "evaluator": soak.replaced["evaluator"]},
        "startup_kills": soak.startup_kills, "crashes": soak.crashes, "final_step": final_step, "resumed_steps": steps,
        **checks, "tracebacks": soak.tracebacks(), "problems": problems,
        "run_dir": str(soak.run_dir) if keep or not ok else None,
    }
    for line in problems:
        soak.say(f"FAILED: {line}")
    soak.say(f"{'ok' if ok else 'FAILED'}: {result['kills']} kills {result['kills_by_kind']}, "
             f"{result['games_flushed']} games flushed, {result['games_lost']} lost, "
             f"{result['corrupt_files']} corrupt files, final step {final_step}")
    if not keep and ok:
        shutil.rmtree(home, ignore_errors=True)
    return result
