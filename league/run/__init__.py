"""The league runner: preparing a run directory, the session that trains and publishes, the actor
processes, and the progress it reports."""
from league.run.runner import LeagueRun, prepare_run

__all__ = ["LeagueRun", "prepare_run"]
