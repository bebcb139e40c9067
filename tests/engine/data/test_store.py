"""Tests for the trajectory store, engine.data: real HDF5 files in tmp_path, real processes killed with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from engine.data import (ReplayWindow, SegmentWriter, StoreError, StoreMeta, Trajectory, describe, go9_bench_meta, inspect,
                         list_segments, read_segment, synthetic_game)

ROOT = Path(__file__).resolve().parents[3]

# A tiny game whose obs spell out (game number, move number), so every sampled row can be traced
# back to the position it came from.
TINY = StoreMeta(
    game_string="tiny()", obs_shape=(2,), obs_dtype="float32", num_actions=4, num_players=2, encoder="test"
)


def tiny_game(n: int, length: int = 10, returns: tuple[float, float] | None = None) -> Trajectory:
    t = np.arange(length)
    if returns is None:
        returns = (1.0, -1.0) if n % 2 == 0 else (-1.0, 1.0)
    policy = np.zeros((length, 4), np.float32)
    policy[:, n % 4] = 1.0
    return Trajectory(
        obs=np.stack([np.full(length, n), t], axis=1).astype(np.float32),
        legal=np.ones((length, 4), bool),
        policy=policy,
        action=(t % 4).astype(np.int32),
        player=(t % 2).astype(np.int8),
        target=t % 3 != 0,
        root_value=np.linspace(-1, 1, length, dtype=np.float32),
        returns=np.array(returns, np.float32),
        participants=[f"run:step-{n}", "random"],
        game_id=f"game{n:04d}",
        learner_step=n,
    )


def write_tiny(directory: Path, games: range, writer: str = "w", max_games: int = 1) -> None:
    with SegmentWriter(directory, writer, TINY, max_games=max_games) as w:
        for n in games:
            w.add(tiny_game(n))


def one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg and msg
    return msg


# ---------------------------------------------------------------------------------------- writing


def test_round_trip_go9(tmp_path: Path) -> None:
    meta = go9_bench_meta()
    rng = np.random.default_rng(1)
    games = [synthetic_game(meta, rng, length=int(rng.integers(20, 90))) for _ in range(7)]
    with SegmentWriter(tmp_path, "actor-0", meta, max_games=3) as w:
        for g in games:
            w.add(g)
    assert w.games_written == 7 and w.positions_written == sum(len(g) for g in games)
    segs = list_segments(tmp_path)
    assert [p.name for p in segs] == [f"traj-actor-0-{i:06d}.h5" for i in range(3)]
    back = [r for p in segs for r in read_segment(p).records()]
    assert len(back) == len(games)
    for g, r in zip(games, back):
        for name in ("obs", "legal", "action", "player", "target", "root_value", "returns", "ownership"):
            np.testing.assert_array_equal(getattr(r, name), getattr(g, name), err_msg=name)
        assert r.obs.dtype == np.uint8 and r.ownership.dtype == np.int8 and r.score == g.score
        np.testing.assert_allclose(r.policy, g.policy, rtol=1e-3, atol=1e-3)  # stored as float16
        assert r.participants == g.participants and r.game_id == g.game_id
        assert r.learner_step == g.learner_step
    seg = read_segment(segs[0])
    assert seg.meta == meta and seg.writer == "actor-0" and seg.num_games == 3
    np.testing.assert_array_equal(seg.positions["game"], np.repeat(np.arange(3), [len(g) for g in games[:3]]))


def test_rotation_restart_and_stray_tmp(tmp_path: Path) -> None:
    w = SegmentWriter(tmp_path, "w", TINY, max_games=2)
    results = [w.add(tiny_game(n)) for n in range(5)]
    assert [r is not None for r in results] == [False, True, False, True, False]
    assert w.pending_games == 1
    w.close()
    assert [p.name for p in list_segments(tmp_path)] == [f"traj-w-{i:06d}.h5" for i in range(3)]

    # A killed writer's leftovers: our own .tmp is garbage, another live writer's .tmp is not ours.
    (tmp_path / "traj-w-000003.h5.tmp").write_bytes(b"half a segment")
    (tmp_path / "traj-other-000000.h5.tmp").write_bytes(b"someone else's, in progress")
    (tmp_path / "traj-w-x-000000.h5.tmp").write_bytes(b"writer 'w-x', not 'w'")
    assert len(list_segments(tmp_path)) == 3  # readers never see .tmp files
    window = ReplayWindow(tmp_path, TINY, 100)
    assert window.refresh() == 50
    with SegmentWriter(tmp_path, "w", TINY, max_games=2) as w2:
        assert not (tmp_path / "traj-w-000003.h5.tmp").exists()
        assert (tmp_path / "traj-other-000000.h5.tmp").exists()
        assert (tmp_path / "traj-w-x-000000.h5.tmp").exists()
        assert w2.add(tiny_game(5)) is None
        path = w2.add(tiny_game(6))
    assert path is not None and path.name == "traj-w-000003.h5"  # seq continues after restart


def test_flush_by_age_and_on_close(tmp_path: Path) -> None:
    w = SegmentWriter(tmp_path, "w", TINY, max_games=100, max_seconds=0.05)
    assert w.add(tiny_game(0)) is None
    time.sleep(0.06)
    assert w.flush_if_due() is not None
    assert w.add(tiny_game(1)) is None
    w.close()
    assert len(list_segments(tmp_path)) == 2
    with pytest.raises(RuntimeError):
        w.add(tiny_game(2))


def test_add_validates_against_meta(tmp_path: Path) -> None:
    w = SegmentWriter(tmp_path, "w", TINY)
    bad_obs = tiny_game(0)
    bad_obs.obs = np.zeros((10, 3), np.float32)
    bad_policy = tiny_game(0)
    bad_policy.policy = np.zeros((10, 5), np.float32)
    bad_seats = tiny_game(0)
    bad_seats.participants = ["random"]
    for g in (bad_obs, bad_policy, bad_seats):
        with pytest.raises(ValueError):
            w.add(g)
    assert w.pending_games == 0
    with pytest.raises(ValueError):
        SegmentWriter(tmp_path, "bad/name", TINY)


# -------------------------------------------------------------------------------------- kill -9

WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, uuid
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from engine.data import SegmentWriter, go9_bench_meta, synthetic_game

    directory, seed, max_games = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    meta = go9_bench_meta()
    rng = np.random.default_rng(seed)
    pool = [synthetic_game(meta, rng, length=40) for _ in range(4)]
    pending = []
    with SegmentWriter(directory, "actor", meta, max_games=max_games, max_seconds=1e9) as w:
        i = 0
        while True:
            game = pool[i % len(pool)]
            game.game_id = uuid.uuid4().hex
            i += 1
            pending.append(game.game_id)
            if w.add(game) is not None:  # segment renamed into place: these games are durable
                print("\\n".join(pending), flush=True)
                pending.clear()
    """
)


def test_kill_9_leaves_only_whole_segments(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    store = tmp_path / "traj"
    rand = random.Random(7)
    flushed: list[str] = []
    for it in range(4):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(ROOT), str(store), str(it), str(1 + it % 3)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = proc.stdout.readline()  # wait until it is writing segments
        assert first.endswith("\n"), proc.stderr.read()
        time.sleep(rand.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        lines = (first + rest).split("\n")
        flushed += [x for x in lines[:-1] if x]  # the last piece may be a line cut off by the kill

        stored = []
        for p in list_segments(store):  # every final file opens cleanly and reads whole
            seg = read_segment(p)
            assert seg.num_positions == int(seg.games["length"].sum())
            stored += seg.games["game_id"]
        assert len(stored) == len(set(stored))
        assert set(flushed) <= set(stored), f"iteration {it}: flushed games lost"
    assert len(flushed) > 4

    names = [p.name for p in list_segments(store)]
    last_seq = max(int(n[len("traj-actor-") : -3]) for n in names)
    meta = go9_bench_meta()
    with SegmentWriter(store, "actor", meta, max_games=1) as w:  # a new writer of the same name goes on
        assert not list(store.glob("*.tmp"))
        path = w.add(synthetic_game(meta, np.random.default_rng(0), length=30))
    assert path is not None and path.name == f"traj-actor-{last_seq + 1:06d}.h5"
    window = ReplayWindow(store, meta, 1_000_000)
    assert window.refresh() == inspect(store)["positions"]


# --------------------------------------------------------------------------------- replay window


def sampled_rows(batch) -> list[tuple[int, int]]:
    return [(int(g), int(t)) for g, t in batch.obs]


def test_window_keeps_newest_and_reads_only_what_it_needs(tmp_path: Path) -> None:
    write_tiny(tmp_path, range(10))  # ten segments of one 10-move game each
    window = ReplayWindow(tmp_path, TINY, capacity=25)
    assert window.refresh() == 25
    assert window.positions == 25 and window.segments_seen == 3 and window.games_seen == 3
    rows = set(sampled_rows(window.sample(4000, np.random.default_rng(0))))
    newest = {(g, t) for g in (7, 8, 9) for t in range(10) if (g, t) >= (7, 5) and t % 3 != 0}
    assert rows == newest
    assert window.refresh() == 0

    write_tiny(tmp_path, range(10, 12), writer="w2")  # incremental: only the new segments
    assert window.refresh() == 20
    assert window.positions == 25 and window.games_seen == 5 and window.positions_loaded == 45
    rows = set(sampled_rows(window.sample(4000, np.random.default_rng(1))))
    assert rows == {(g, t) for g in (9, 10, 11) for t in range(10) if (g, t) >= (9, 5) and t % 3 != 0}


def test_window_ring_wraps_and_oversized_segment(tmp_path: Path) -> None:
    window = ReplayWindow(tmp_path, TINY, capacity=17)
    assert window.refresh() == 0
    write_tiny(tmp_path, range(3))
    assert window.refresh() == 17  # 30 written, the newest 17 kept
    write_tiny(tmp_path, range(3, 8), writer="big", max_games=5)  # one 50-row segment > capacity
    assert window.refresh() == 17
    rows = set(sampled_rows(window.sample(3000, np.random.default_rng(2))))
    assert rows == {(g, t) for g in (6, 7) for t in range(10) if (g, t) >= (6, 3) and t % 3 != 0}


def test_sample_respects_target_seat_and_value(tmp_path: Path) -> None:
    with SegmentWriter(tmp_path, "w", TINY, max_games=4) as w:
        for n in range(12):
            w.add(tiny_game(n, returns=(0.0, 0.0) if n % 3 == 0 else None))
    window = ReplayWindow(tmp_path, TINY, capacity=1000)
    window.refresh()
    rng = np.random.default_rng(3)
    for seat in (None, 0, 1):
        b = window.sample(512, rng, seat=seat)
        assert b.obs.shape == (512, 2) and b.obs.dtype == np.float32
        assert b.policy.dtype == np.float32 and b.legal.dtype == bool and b.player.dtype == np.int8
        g, t = b.obs[:, 0].astype(int), b.obs[:, 1].astype(int)
        assert np.all(t % 3 != 0)  # only target positions
        np.testing.assert_array_equal(b.player, t % 2)
        if seat is not None:
            assert np.all(b.player == seat)
        expected = np.array([tiny_game(gi).returns[p] if gi % 3 else 0.0 for gi, p in zip(g, b.player)])
        np.testing.assert_array_equal(b.value, expected)
        np.testing.assert_array_equal(b.policy.argmax(axis=1), g % 4)
        np.testing.assert_allclose(b.root_value, np.linspace(-1, 1, 10, dtype=np.float32)[t])
    assert len(set(sampled_rows(window.sample(4000, rng)))) == 12 * 6  # uniform over all targets


def test_sample_empty_window(tmp_path: Path) -> None:
    window = ReplayWindow(tmp_path, TINY, capacity=10)
    window.refresh()
    with pytest.raises(StoreError) as e:
        window.sample(8, np.random.default_rng(0))
    assert "refresh" in one_line(e)


# ------------------------------------------------------------------------------- refusal & errors


def test_other_game_or_encoder_refused(tmp_path: Path) -> None:
    write_tiny(tmp_path, range(2))
    other = StoreMeta("tic_tac_toe()", (2,), "float32", 4, 2, "test")
    with pytest.raises(StoreError) as e:
        ReplayWindow(tmp_path, other, 10).refresh()
    assert "tic_tac_toe()" in one_line(e) and "tiny()" in one_line(e)
    with pytest.raises(StoreError):
        SegmentWriter(tmp_path, "w9", other)
    reshaped = StoreMeta("tiny()", (3,), "float32", 4, 2, "test")
    with pytest.raises(StoreError) as e:
        ReplayWindow(tmp_path, reshaped, 10).refresh()
    one_line(e)


def test_unknown_schema_version_refused(tmp_path: Path) -> None:
    write_tiny(tmp_path, range(1))
    path = list_segments(tmp_path)[0]
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 3
    for call in (read_segment, inspect, describe):
        with pytest.raises(StoreError) as e:
            call(path)
        assert "version 3" in one_line(e)


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    garbage = tmp_path / "traj-x-000000.h5"
    garbage.write_bytes(os.urandom(1000))
    foreign = tmp_path / "other.h5"
    with h5py.File(foreign, "w") as f:
        f.create_dataset("x", data=np.arange(3))
    for path in (garbage, foreign, tmp_path / "missing.h5"):
        with pytest.raises(StoreError) as e:
            read_segment(path)
        one_line(e)
        with pytest.raises(StoreError):
            inspect(path)
    with pytest.raises(StoreError):
        inspect(tmp_path)  # the directory's only segment is garbage
    assert ReplayWindow(tmp_path, TINY, 10).refresh() == 0  # the window moves it aside and goes on
    assert not garbage.exists() and (tmp_path / "quarantine" / garbage.name).exists()
    with pytest.raises(StoreError) as e:
        inspect(tmp_path / "empty-dir-that-is-missing")
    one_line(e)
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError):
        inspect(tmp_path / "empty")


def test_damaged_segments_go_to_quarantine_and_the_store_goes_on(tmp_path: Path, capfd) -> None:
    write_tiny(tmp_path, range(4))  # segments w-0 .. w-3, one game of 10 positions each
    segs = list_segments(tmp_path)
    with open(segs[1], "r+b") as f:  # a partial copy
        f.truncate(segs[1].stat().st_size // 2)
    with h5py.File(segs[2], "a") as f:  # a chunk lost, the games table whole: its games are known
        del f["positions/obs"]
    window = ReplayWindow(tmp_path, TINY, 100)
    assert window.refresh() == 20 and window.games_seen == 2
    warnings = capfd.readouterr().err.strip().splitlines()
    assert len(warnings) == 2 and all(w.startswith("warning: ") and "quarantine/" in w for w in warnings)
    assert "games lost: unknown" in warnings[0] + warnings[1] and "games lost: 1" in warnings[0] + warnings[1]
    assert list_segments(tmp_path) == [segs[0], segs[3]]  # the quarantine folder is never listed
    assert sorted(p.name for p in (tmp_path / "quarantine").iterdir()) == [segs[1].name, segs[2].name]
    info = inspect(tmp_path)
    assert info["segments"] == 2 and info["games"] == 2 and info["quarantined"] == 2
    assert "2 in quarantine/" in describe(tmp_path)

    # The newest segment of writer w damaged too: a new w numbers after the quarantined names, so a
    # running learner that saw a name never mistakes a new segment for it.
    with open(segs[3], "r+b") as f:
        f.truncate(100)
    write_tiny(tmp_path, range(10, 11))
    assert capfd.readouterr().err.count("warning: ") == 1
    assert [p.name for p in list_segments(tmp_path)] == ["traj-w-000000.h5", "traj-w-000004.h5"]
    assert window.refresh() == 10


# -------------------------------------------------------------------------------------- inspect


def test_inspect_and_describe(tmp_path: Path) -> None:
    outcomes = [(1.0, -1.0)] * 3 + [(0.0, 0.0)] + [(-1.0, 1.0)] * 2
    with SegmentWriter(tmp_path, "a", TINY, max_games=2) as w:
        for n, r in enumerate(outcomes[:4]):
            w.add(tiny_game(n, length=5 + n, returns=r))
    with SegmentWriter(tmp_path, "b", TINY, max_games=5) as w:
        for n, r in enumerate(outcomes[4:], start=4):
            w.add(tiny_game(n, length=5 + n, returns=r))
    info = inspect(tmp_path)
    assert info["schema_version"] == 2 and info["game_string"] == "tiny()" and info["games_with_targets"] == 0 and info["obs_shape"] == [2]
    assert info["segments"] == 3 and info["games"] == 6 and info["positions"] == sum(range(5, 11))
    assert (info["min_length"], info["max_length"], info["mean_length"]) == (5, 10, 7.5)
    assert info["outcomes"][0] == {"wins": 3, "draws": 1, "losses": 2}
    assert info["outcomes"][1] == {"wins": 2, "draws": 1, "losses": 3}
    assert info["writers"] == ["a", "b"]
    assert info["first_game_at"] <= info["last_game_at"]

    one = inspect(list_segments(tmp_path)[0])
    assert one["segments"] == 1 and one["games"] == 2 and one["positions"] == 11

    text = describe(tmp_path)
    assert "tiny()" in text and "seat 0: 3 W / 1 D / 2 L" in text and "seat 1: 2 W / 1 D / 3 L" in text
    assert "positions       45" in text
