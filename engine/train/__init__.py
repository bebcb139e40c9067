"""Learning: the learners (AlphaZero, MMD), the self-play actors that feed them, exploitability."""
from engine.train.alphazero import Learner, augment
from engine.train.mmd import MMDLearner
from engine.train.policy_actor import PolicyActor
from engine.train.selfplay import SelfPlayActor, pick_action, store_meta

__all__ = ["Learner", "MMDLearner", "PolicyActor", "SelfPlayActor", "augment", "pick_action", "store_meta"]
