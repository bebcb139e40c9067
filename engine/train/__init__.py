"""Learning: the learners (AlphaZero, MMD) and the registry of learner kinds that names them, the
actors that feed them (self-play with search, policy sampling without), and exploitability."""
from engine.train.actor import Actor, OpponentSource, store_meta
from engine.train.alphazero import Learner, augment
from engine.train.kinds import (LEARNERS, LearnerKind, LearnerProtocol, RestartableLearner, UnknownLearner,
                                learner_kind)
from engine.train.mmd import MMDLearner
from engine.train.policy_actor import PolicyActor
from engine.train.selfplay import SelfPlayActor, pick_action

__all__ = ["Actor", "LEARNERS", "LearnerKind", "LearnerProtocol", "Learner", "MMDLearner", "OpponentSource",
           "PolicyActor", "RestartableLearner", "SelfPlayActor", "UnknownLearner", "augment", "learner_kind", "pick_action", "store_meta"]
