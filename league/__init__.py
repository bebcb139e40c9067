"""The population: snapshot pool, PFSP matchmaking, roles (exploiters), SPRT gating, matches, the
SQLite ledger of results, the rater's games, ladders, duplicate poker, ratings (`league.ratings`) and
the league runner (`league.run`)."""

__all__ = ["duplicate", "ladder", "ledger", "match", "pfsp", "pool", "rater", "ratings", "roles", "run", "sprt"]
