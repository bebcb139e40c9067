"""Ratings from game results on one Elo scale: Bradley–Terry fits of two-player games and
Plackett–Luce fits of finishing orders (sharing a prior and a Newton/bootstrap solver), anchored
ratings with intervals (Bradley–Terry's sandwich estimate, or the bootstrap) and LOS, the ranked table, a live K-factor Elo, and synthetic
leagues that measure the fit."""
from league.ratings.bradley_terry import fit_bradley_terry, rate_records
from league.ratings.online import OnlineElo
from league.ratings.plackett_luce import fit_plackett_luce
from league.ratings.records import placings_from_records, results_from_names, results_from_records
from league.ratings.synthetic import coverage, openspiel_agreement, synthetic_games
from league.ratings.table import (ELO_PER_NAT, INTERVALS, RatingConfig, RatingError, Ratings, Row, render_table,
                                  table_dicts)

__all__ = ["ELO_PER_NAT", "INTERVALS", "OnlineElo", "RatingConfig", "RatingError", "Ratings", "Row", "coverage",
           "fit_bradley_terry", "fit_plackett_luce", "openspiel_agreement", "placings_from_records",
           "rate_records", "render_table", "results_from_names", "results_from_records", "synthetic_games",
           "table_dicts"]
