"""The league runner: preparing a run directory (prepare), the session that trains and publishes
(session), the actor processes (actor_process), the bridge from the trajectory store to the ledger
(recorder), the progress a session reports (progress) and its TensorBoard curves (curves)."""
from league.run.actor_process import AgentActor, actor_main
from league.run.curves import Curves, tensorboard_dir
from league.run.prepare import prepare_run
from league.run.progress import Progress
from league.run.recorder import TrainingRecorder, reconcile
from league.run.session import LeagueRun

__all__ = ["AgentActor", "Curves", "LeagueRun", "Progress", "TrainingRecorder", "actor_main", "prepare_run", "reconcile",
           "tensorboard_dir"]
