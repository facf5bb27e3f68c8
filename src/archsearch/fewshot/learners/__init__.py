"""Few-shot learners on any backbone ``nn.Module``: MAML, Reptile, Prototypical and Relation Networks."""

from archsearch.fewshot.learners.base import (FewShotLearner, FewShotReport, MetaTrainHistory, evaluate,
                                              meta_train)
from archsearch.fewshot.learners.maml import MAMLLearner, forward_with, maml_adapt
from archsearch.fewshot.learners.protonet import ProtoNetLearner, prototypes, squared_euclidean_logits
from archsearch.fewshot.learners.relationnet import RelationNetLearner
from archsearch.fewshot.learners.reptile import ReptileLearner, reptile_adapt, reptile_outer_update

__all__ = ["FewShotLearner", "FewShotReport", "MAMLLearner", "MetaTrainHistory", "ProtoNetLearner",
           "RelationNetLearner", "ReptileLearner", "evaluate", "forward_with", "maml_adapt", "meta_train",
           "prototypes", "reptile_adapt", "reptile_outer_update", "squared_euclidean_logits"]
