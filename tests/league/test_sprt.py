"""SPRT gating: decides the right way on clearly different players and keeps going on close ones."""
import numpy as np

from league.sprt import SPRT, expected_score


def _run(p_win: float, p_draw: float, seed: int, limit: int = 5000) -> tuple[str | None, int]:
    rng = np.random.default_rng(seed)
    test = SPRT(elo0=0, elo1=30)
    while test.decision() is None and test.games < limit:
        u = rng.random()
        test.add(1.0 if u < p_win else 0.5 if u < p_win + p_draw else 0.0)
    return test.decision(), test.games


def test_a_much_stronger_candidate_is_accepted_quickly_and_a_weaker_one_rejected():
    decision, games = _run(0.7, 0.1, 0)
    assert decision == "accept" and games < 200
    decision, games = _run(0.3, 0.1, 1)
    assert decision == "reject" and games < 200


def test_error_rates_stay_near_alpha_at_the_hypotheses():
    # At elo0 (equal strength) the test should accept rarely (alpha = 5%).
    s0 = expected_score(0.0)
    accepts = sum(_run(s0 - 0.1, 0.2, seed)[0] == "accept" for seed in range(60))
    assert accepts <= 8
    s1 = expected_score(30.0)
    rejects = sum(_run(s1 - 0.1, 0.2, 100 + seed)[0] == "reject" for seed in range(60))
    assert rejects <= 8


def test_llr_is_zero_without_games_and_bounds_are_ordered():
    test = SPRT()
    lower, upper = test.bounds
    assert lower < 0 < upper
    assert test.decision() is None
