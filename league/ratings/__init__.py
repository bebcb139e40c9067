"""Ratings from game results: Bradley–Terry (two-player games) and Plackett–Luce (finishing order)
fits on one Elo scale, bootstrap intervals, LOS, and the rating table."""
from league.ratings.fit import (RatingConfig, RatingError, Ratings, fit_bradley_terry,
                                fit_plackett_luce, rate_records, table_dicts)

__all__ = ["RatingConfig", "RatingError", "Ratings", "fit_bradley_terry", "fit_plackett_luce",
           "rate_records", "table_dicts"]
