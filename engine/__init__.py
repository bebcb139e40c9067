"""Learning machinery, below the league and above the game catalogue.

- `engine.config`: the run's dataclass configs (TOML in, TOML out); `engine.rundir`: the run directory
  contract; `engine.errors`: the error base every user-facing error derives from; `engine.files`:
  durable renames and the quarantine of unreadable files.
- `engine.nn`: networks, batched inference, snapshot files.
- `engine.search`: batched PUCT / Gumbel search, compiled tree kernels, Go's array search.
- `engine.data`: the HDF5 trajectory store and the replay window.
- `engine.train`: learners (AlphaZero, MMD), self-play actors, exploitability.
- `engine.players`: player specs into `pyspiel.Bot`s.
"""

__all__ = ["config", "data", "errors", "files", "nn", "players", "rundir", "search", "train"]
