"""Few-shot learning on Omniglot: the data, episodes, the 4-conv backbones and MAML, Reptile, Prototypical
and Relation Networks behind one interface (:class:`~archsearch.fewshot.learners.FewShotLearner`)."""

from archsearch.fewshot.backbones import RelationModule, conv4, count_parameters, relation_encoder
from archsearch.fewshot.data import FewShotDataset, OneShotRun, load_omniglot, load_one_shot_runs
from archsearch.fewshot.episodes import Episode, EpisodeSampler, one_shot_episodes, run_episode
from archsearch.fewshot.learners import (FewShotLearner, FewShotReport, MAMLLearner, MetaTrainHistory,
                                         ProtoNetLearner, RelationNetLearner, ReptileLearner, evaluate,
                                         maml_adapt, meta_train, reptile_adapt, reptile_outer_update)

__all__ = ["Episode", "EpisodeSampler", "FewShotDataset", "FewShotLearner", "FewShotReport", "MAMLLearner",
           "MetaTrainHistory", "OneShotRun", "ProtoNetLearner", "RelationModule", "RelationNetLearner",
           "ReptileLearner", "conv4", "count_parameters", "evaluate", "load_omniglot", "load_one_shot_runs",
           "maml_adapt", "meta_train", "one_shot_episodes", "relation_encoder", "reptile_adapt",
           "reptile_outer_update", "run_episode"]
