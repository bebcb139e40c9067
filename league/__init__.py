"""The population: snapshot pool, PFSP matchmaking, roles (exploiters), SPRT gating, matches, the
SQLite ledger of results, the rater's games, ladders, duplicate poker, ratings (`league.ratings`) and
the league runner (`league.run`), the repair of a run's damaged files (`league.repair`); Ray clusters
(`league.cluster`) for actors and ladder tables."""

__all__ = ["cluster", "duplicate", "ladder", "ladder_ray", "ledger", "match", "pfsp", "pool", "rater", "ratings", "repair",
           "roles", "run", "sprt"]
