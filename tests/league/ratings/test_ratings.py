import json

import numpy as np
import pytest

from arena_cli.bench import bench_ratings
from league.ratings import (ELO_PER_NAT, INTERVALS, OnlineElo, RatingConfig, RatingError, coverage, fit_bradley_terry,
                            fit_plackett_luce, openspiel_agreement, placings_from_records, rate_records,
                            render_table, results_from_names, results_from_records, synthetic_games, table_dicts)

POINT = RatingConfig(anchor=None, resamples=0)


def names(n: int) -> list[str]:
    return [f"p{k}" for k in range(n)]


@pytest.mark.parametrize("players, smoothing", [(8, 0.0), (8, 0.01), (20, 0.1)])
def test_agrees_with_openspiel_elo(players, smoothing):
    assert openspiel_agreement(players, games=100 * players, seed=players, smoothing=smoothing) < 1.0


@pytest.mark.parametrize("intervals", INTERVALS)
def test_intervals_cover_true_ratings(intervals):
    result = coverage(players=50, games=20_000, seed=0, resamples=100, intervals=intervals)
    assert result["coverage"] >= 0.9
    lo, hi = result["advantage_interval_elo"]
    assert lo <= 30.0 <= hi


def test_sandwich_intervals_cover_players_of_few_games():
    """30 players of 20 games each: the leverage term keeps the sandwich from shrinking with the
    residuals of players the prior pulls in (the bootstrap covers 0.93 of these on average)."""
    shares = [coverage(players=30, games=300, seed=seed)["coverage"] for seed in range(5)]
    assert np.mean(shares) >= 0.88, shares


def test_first_move_advantage_is_fitted_and_can_be_turned_off():
    truth = np.random.default_rng(3).normal(0, 150, 20)
    a, b, score = synthetic_games(truth, 20_000, seed=4, advantage=60.0)
    fit = fit_bradley_terry(a, b, score, names(20), POINT)
    assert abs(fit.advantage - 60.0) < 15
    off = fit_bradley_terry(a, b, score, names(20), RatingConfig(anchor=None, advantage=False, resamples=0))
    assert off.advantage is None
    assert np.max(np.abs(off.elo - fit.elo)) < 15  # seats alternate at random: ratings barely move


def test_anchor_sits_at_zero_or_the_mean_does():
    a, b, score = synthetic_games([0, 100, 200, 300], 2000, seed=5)
    fit = fit_bradley_terry(a, b, score, ["random", "x", "y", "z"], RatingConfig(resamples=20))
    assert fit.anchor == "random" and fit.rating("random") == 0.0
    assert fit.lower[0] == fit.upper[0] == 0.0
    assert 150 < fit.rating("z") < 450
    absent = fit_bradley_terry(a, b, score, ["w", "x", "y", "z"], RatingConfig(resamples=0))
    assert absent.anchor is None and "not among the players" in absent.note
    assert abs(absent.elo.mean()) < 1e-9
    assert np.allclose(absent.elo - absent.elo[0], fit.elo)


def test_degenerate_results_stay_finite():
    # p0 wins everything, p3 loses everything, p4-p5 are a separate island, p6 never plays
    a = np.array([0, 0, 1, 2, 1, 4, 5, 4])
    b = np.array([1, 2, 2, 3, 3, 5, 4, 5])
    score = np.array([1, 1, 0.5, 1, 1, 1, 0, 0.5])
    for config in [RatingConfig(anchor=None, intervals=method, resamples=30) for method in INTERVALS] + [
            RatingConfig(anchor="p3", intervals=method, resamples=30, prior_games=0) for method in INTERVALS]:
        fit = fit_bradley_terry(a, b, score, names(7), config)
        assert np.all(np.isfinite(fit.elo)) and np.all(np.isfinite(fit.covariance))
        assert np.all(np.isfinite(fit.lower)) and np.all(np.isfinite(fit.upper))
        assert fit.elo[0] > fit.elo[1] > fit.elo[3]
        rows = fit.table()
        assert all(r.los is None or 0.0 <= r.los <= 1.0 for r in rows)
        assert fit.groups == 3 and "3 groups" in fit.note
    shrunk = fit_bradley_terry(a, b, score, names(7), RatingConfig(anchor="p6", resamples=0))
    assert abs(shrunk.elo[0]) < 1000 and abs(shrunk.elo[3]) < 1000
    empty = fit_bradley_terry([], [], [], names(2), RatingConfig(resamples=10))
    assert np.all(empty.elo == 0.0) and empty.table()[0].games == 0


def test_a_long_ladder_is_neither_squeezed_nor_slow_to_bootstrap():
    # 80 snapshots 40 Elo apart, each playing the next two: 3160 Elo from bottom to top
    truth = np.arange(80) * 40.0
    rng = np.random.default_rng(13)
    low = rng.integers(0, 78, 16_000)
    a, b = low, low + rng.integers(1, 3, len(low))
    p = 1 / (1 + 10 ** (-(truth[a] - truth[b]) / 400))
    score = (rng.random(len(a)) < p).astype(float)
    fit = fit_bradley_terry(a, b, score, names(80), RatingConfig(anchor="p0", advantage=False, resamples=50))
    assert np.mean((fit.lower <= truth) & (truth <= fit.upper)) >= 0.9
    assert abs(fit.elo[-1] / truth[-1] - 1) < 0.1


def test_table_rows_render_and_serialise():
    truth = np.array([0.0, 200.0, -100.0, 400.0])
    a, b, score = synthetic_games(truth, 4000, seed=6)
    fit = fit_bradley_terry(a, b, score, ["random", "b", "c", "d"], RatingConfig(resamples=50))
    rows = fit.table()
    assert [r.player for r in rows] == ["d", "b", "random", "c"]
    assert [r.rank for r in rows] == [1, 2, 3, 4]
    assert all(r.lower <= r.elo <= r.upper for r in rows)
    assert rows[0].los > 0.99 and rows[-1].los is None
    assert rows[0].games == rows[0].wins + rows[0].draws + rows[0].losses > 0
    assert sum(r.games for r in rows) == 2 * 4000
    lines = render_table(rows)
    assert len(lines) == 5 and "d" in lines[1] and "elo" in lines[0]
    assert json.loads(json.dumps(table_dicts(rows)))[0]["player"] == "d"
    assert "random = 0" in fit.summary() and "first-move advantage" in fit.summary()


def test_records_become_arrays():
    records = [("x", "y", 1, -1), ("y", "x", 0, 0), ("z", "x", -1, 1)]
    a, b, score, known = results_from_records(records)
    assert known == ["x", "y", "z"]
    assert a.tolist() == [0, 1, 2] and b.tolist() == [1, 0, 0] and score.tolist() == [1, 0.5, 0]
    assert rate_records(records, POINT).names == ["x", "y", "z"]
    with pytest.raises(RatingError, match="unknown player 'z'"):
        results_from_records(records, names=["x", "y"])
    by_columns = results_from_names(["x", "y", "z"], ["y", "x", "x"], [1.0, 0.5, 0.0], names=["z", "y", "x"])
    assert by_columns.a.tolist() == [2, 1, 0] and by_columns.b.tolist() == [1, 2, 2] and by_columns.names == ["z", "y", "x"]
    players, ranks, known = placings_from_records([(["x", "y", "z"], [1, 0, 1]), (["y", "z"], [0, 2])])
    assert known == ["x", "y", "z"]
    assert players.tolist() == [[0, 1, 2], [1, 2, -1]]
    assert ranks[0].tolist() == [0, 2, 0] and ranks[1, :2].tolist() == [1, 0]


@pytest.mark.parametrize("call, message", [
    (lambda: fit_bradley_terry([0, 1], [1], [1, 0], names(2)), "one length"),
    (lambda: fit_bradley_terry([0], [2], [1], names(2)), r"\[0, 2\)"),
    (lambda: fit_bradley_terry([0], [0], [1], names(2)), "against itself"),
    (lambda: fit_bradley_terry([0], [1], [0.7], names(2)), "scores must be"),
    (lambda: fit_bradley_terry([0.0], [1.0], [1], names(2)), "integer"),
    (lambda: fit_bradley_terry([0], [1], [1], ["x", "x"]), "unique"),
    (lambda: fit_bradley_terry([0], [1], [1], names(2), weight=[-1.0]), "weight"),
    (lambda: RatingConfig(confidence=1.5), "confidence"),
    (lambda: RatingConfig(resamples=-1), "resamples"),
    (lambda: RatingConfig(intervals="hessian"), "intervals must be 'sandwich' or 'bootstrap'"),
    (lambda: results_from_names(["x"], ["y", "x"], [1.0]), "one of each per game"),
    (lambda: fit_plackett_luce([[0, -1]], [[0, 0]], names(2)), "fewer than two"),
    (lambda: fit_plackett_luce([[0, 0]], [[0, 1]], names(2)), "twice"),
    (lambda: fit_plackett_luce([[0, 1]], [[0, 1, 2]], names(2)), "one shape"),
    (lambda: fit_bradley_terry([0], [1], [1], names(2), POINT).rating("q"), "no player"),
])
def test_bad_input_is_refused_in_one_line(call, message):
    with pytest.raises(RatingError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def plackett_luce_games(truth, games, seats, seed):
    """Finishing orders drawn from Plackett–Luce: strengths plus Gumbel noise, best first."""
    rng = np.random.default_rng(seed)
    players = np.argsort(rng.random((games, len(truth))), axis=1)[:, :seats]
    noisy = np.asarray(truth)[players] / ELO_PER_NAT + rng.gumbel(size=players.shape)
    ranks = np.argsort(np.argsort(-noisy, axis=1), axis=1)
    return players, ranks


def test_plackett_luce_recovers_ratings_of_multiplayer_games():
    truth = np.random.default_rng(7).normal(0, 200, 12)
    players, ranks = plackett_luce_games(truth, 3000, seats=4, seed=8)
    fit = fit_plackett_luce(players, ranks, names(12), RatingConfig(anchor=None, resamples=30))
    centred = truth - truth.mean()
    assert np.max(np.abs(fit.elo - centred)) < 60
    assert np.mean((fit.lower <= centred) & (centred <= fit.upper)) >= 0.75
    rows = fit.table()
    assert all(r.wins + r.draws + r.losses == 3 * r.games for r in rows)  # 3 opponents a game
    assert fit.advantage is None and len(render_table(rows)) == 13


def test_plackett_luce_on_two_players_is_bradley_terry_with_draws():
    truth = np.random.default_rng(9).normal(0, 200, 6)
    a, b, score = synthetic_games(truth, 3000, seed=10, draw_rate=0.4)
    config = RatingConfig(anchor="p0", advantage=False, resamples=0)
    bt = fit_bradley_terry(a, b, score, names(6), config)
    ranks = np.stack([(score < 1).astype(int), (score > 0).astype(int)], axis=1)  # a draw ties at 0
    pl = fit_plackett_luce(np.stack([a, b], axis=1), ranks, names(6), config)
    assert np.max(np.abs(bt.elo - pl.elo)) < 0.01
    assert pl.draws.sum() == bt.draws.sum() == 2 * np.sum(score == 0.5)


def test_plackett_luce_ties_share_places():
    # p0 and p1 always tie for first ahead of p2: equal ratings, both above p2
    players = np.tile([0, 1, 2], (20, 1))
    ranks = np.tile([0, 0, 2], (20, 1))
    fit = fit_plackett_luce(players, ranks, names(3), RatingConfig(anchor=None, resamples=10))
    assert abs(fit.elo[0] - fit.elo[1]) < 1e-6 and fit.elo[0] > fit.elo[2] + 100
    assert fit.draws.tolist() == [20, 20, 0] and fit.losses.tolist() == [0, 0, 40]


def test_online_elo():
    live = OnlineElo(k=32)
    assert live.expected("x", "y") == 0.5
    assert live.update("x", "y", 1.0) == 16.0
    assert live.ratings == {"x": 16.0, "y": -16.0} and live.games == {"x": 1, "y": 1}
    live.update("y", "z", 0.5)
    assert sum(live.ratings.values()) == pytest.approx(0.0)
    assert live.expected("x", "y") == pytest.approx(1 / (1 + 10 ** (-(live.ratings["x"] - live.ratings["y"]) / 400)))


def test_bench_ratings_reports_its_figures():
    # Timings are the benchmark's business; here only that it runs and what it reports.
    result = bench_ratings(players=100, games=5000, seed=1, repeats=1)
    assert {"fit_seconds", "iterations", "max_abs_error_elo", "coverage"} <= result.keys()
    assert result["iterations"] < 30 and result["coverage"]["coverage"] >= 0.9
    assert result["coverage"]["intervals"] == "sandwich" and result["coverage_bootstrap"]["coverage"] >= 0.9
    assert result["openspiel_max_gap_elo"] < 1.0
    json.dumps(result)


def hunter_mm(players, ranks, n, iterations=2000):
    """Reference: Hunter's (2004) MM for Plackett–Luce over full orders, no ties, no prior."""
    orders = np.take_along_axis(players, np.argsort(ranks, axis=1), axis=1)
    wins = np.bincount(orders[:, :-1].ravel(), minlength=n)
    last = orders.shape[1] - 2  # the last place faces no choice
    gamma = np.ones(n)
    for _ in range(iterations):
        left = np.cumsum(gamma[orders][:, ::-1], axis=1)[:, ::-1]
        faced = np.cumsum(1 / left[:, :-1], axis=1)  # Σ 1/left over the choices a place took part in
        denominator = np.bincount(orders.ravel(), faced[:, np.minimum(np.arange(last + 2), last)].ravel(), n)
        gamma = wins / denominator
        gamma /= np.exp(np.log(gamma).mean())
    return np.log(gamma) * ELO_PER_NAT


def test_plackett_luce_maximum_is_hunters():
    truth = np.random.default_rng(11).normal(0, 150, 6)
    players, ranks = plackett_luce_games(truth, 150, seats=3, seed=12)
    fit = fit_plackett_luce(players, ranks, names(6), RatingConfig(anchor=None, prior_games=0, resamples=0))
    reference = hunter_mm(players, ranks, 6)
    assert np.max(np.abs(fit.elo - (reference - reference.mean()))) < 0.01
