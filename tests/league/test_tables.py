"""Rating games of more than two players: seat rotation (league.match.play_table) and 3-player ladders
rated by Plackett–Luce (league.ladder, `arena ladder`), on real leduc_poker3 games, bots and ledgers.
The evaluator of a 3-player run is tested in test_evaluator.py."""
import collections
import json

import pytest

import arena_cli
import games
from league import ladder
from league.ledger import Ledger
from league.match import play_match, play_table, seating
from league.ratings import RatingConfig

LEDUC3 = games.load("leduc_poker3")


@pytest.mark.parametrize("n", [2, 3, 4])
def test_each_player_takes_each_seat_equally_and_order_reverses(n):
    block = [seating(i, n) for i in range(2 * n)]
    for game in block:
        assert sorted(game) == list(range(n))  # a seating is a permutation of the players
    for s in range(n):
        assert collections.Counter(g[s] for g in block[:n]) == collections.Counter(range(n))
    if n == 2:  # the 2-player case is play_match's alternation: a first in even games
        assert block == [[0, 1], [1, 0], [0, 1], [1, 0]]
    else:  # who acts after player 0 differs between the two blocks
        after = {block[0][(block[0].index(0) + 1) % n], block[n][(block[n].index(0) + 1) % n]}
        assert len(after) == 2


def test_a_table_rotates_seats_and_sums_to_zero():
    result = play_table(LEDUC3, ["raise", "call", "random"], 12, seed=1)
    assert result.games == 12 and len(result.seatings) == 12
    for s in range(3):
        assert collections.Counter(seats[s] for seats in result.seatings) == {"raise": 4, "call": 4, "random": 4}
    assert all(abs(sum(r)) < 1e-9 and len(r) == 3 for r in result.returns)  # chips are zero-sum
    assert play_table(LEDUC3, ["raise", "call", "random"], 12, seed=1).returns == result.returns  # seeded
    with pytest.raises(ValueError, match="3 distinct"):
        play_table(LEDUC3, ["raise", "call"], 3)
    with pytest.raises(ValueError, match="3 distinct"):
        play_table(LEDUC3, ["raise", "call", "call"], 3)


def test_play_match_is_a_two_seat_table():
    spec = games.load("leduc_poker")
    match = play_match(spec, "raise", "random", 8, seed=4)
    table = play_table(spec, ["raise", "random"], 8, seed=4)
    assert match.seated() == table.seated()  # same loop, same seats, same chance draws


def test_three_player_ladder_records_tables_and_rates_finishing_orders(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    shown = []
    added = ladder.round_robin(LEDUC3, ["raise", "call", "random"], 600, ledger, seed=2,
                               progress=lambda players, result: shown.append((players, result)))
    assert added == 600 and len(shown) == 1 and shown[0][0] == ("raise", "call", "random")
    recorded = [g for _, g in ledger.games(kinds=("rating",))]
    assert all(len(g.players) == 3 and set(g.players) == {"raise", "call", "random"} for g in recorded)
    # In chips the fixed strategies beat random clearly.
    chips = shown[0][1].mean_returns()
    assert chips["raise"] > 0.5 and chips["call"] > 0.5 and chips["random"] < -1.5
    # Equal returns tie: the ledger's finishing orders group them in one place.
    orders = ledger.rating_input().orders
    tied = sum(1 for g in recorded if len(set(g.returns)) < 3)
    assert tied > 100 and sum(1 for order in orders if len(order) < 3) == tied
    ratings = ladder.ledger_ratings(ledger, RatingConfig(resamples=20))
    assert ratings.model == "plackett-luce" and ratings.rating("random") == 0.0
    # The table's W/D/L are opponents beaten/tied/lost to, from the returns.
    for row in ratings.table():
        beaten = tiedw = lost = 0
        for g in recorded:
            mine = g.returns[g.players.index(row.player)]
            beaten += sum(r < mine for r in g.returns)
            tiedw += sum(r == mine for r in g.returns) - 1
            lost += sum(r > mine for r in g.returns)
        assert (row.wins, row.draws, row.losses) == (beaten, tiedw, lost), row.player
    # What finishing order makes of poker: random wins a hand far less often than raise or call, but
    # folding early loses only its ante, so it seldom finishes last; the two effects roughly cancel
    # and Plackett–Luce rates the three close together, unlike their chips.
    first = collections.Counter(g.players[g.returns.index(max(g.returns))] for g in recorded
                                if g.returns.count(max(g.returns)) == 1)
    last = collections.Counter(g.players[g.returns.index(min(g.returns))] for g in recorded
                               if g.returns.count(min(g.returns)) == 1)
    assert first["random"] < first["raise"] / 2 and last["random"] < last["raise"] / 2
    assert abs(ratings.rating("raise") - ratings.rating("random")) < 60


def test_three_player_gauntlet_plays_its_player_with_every_pair():
    assert ladder.tables(["a", "b", "c", "d"], 3, gauntlet="g") == [
        ("g", "a", "b"), ("g", "a", "c"), ("g", "a", "d"), ("g", "b", "c"), ("g", "b", "d"), ("g", "c", "d")]
    assert len(ladder.tables(["a", "b", "c", "d"], 3)) == 4
    assert ladder.tables(["a", "b", "c"], 2) == [("a", "b"), ("a", "c"), ("b", "c")]


def test_cli_three_player_ladder_and_its_bad_input(capsys):
    def ladder_cli(*args):
        code = arena_cli.main(["ladder", "--players", *args, "--game", "leduc_poker3", "--resamples", "0", "--json"])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = ladder_cli("raise", "call", "random", "--games", "6")
    assert code == 0
    table = json.loads(out)
    assert "plackett-luce" in table["summary"]
    assert {p["player"]: p["games"] for p in table["players"]} == {"raise": 6, "call": 6, "random": 6}
    code, out, _ = ladder_cli("raise", "call", "random", "--gauntlet", "random@seed=1", "--games", "3")
    assert code == 0
    games_of = {p["player"]: p["games"] for p in json.loads(out)["players"]}
    assert games_of == {"random@seed=1": 9, "raise": 6, "call": 6, "random": 6}  # 3 tables of 3 games
    for args, words in ((("raise", "call", "--games", "6"), "at least 3"),
                        (("raise", "call", "random", "--games", "10"), "multiple of 3")):
        code, _, err = ladder_cli(*args)
        assert code == 2 and words in err and err.count("\n") == 1, err
