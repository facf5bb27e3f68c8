"""Meta-architecture search for few-shot learning: T-NAS (Lian et al., ICLR 2020) and MetaNAS (Elsken et al.,
CVPR 2020) on a supernet of NB201 or DARTS cells, a searched Prototypical Network embedding, and the meta-test of few-shot learners on Omniglot. A module per job:

- :mod:`.learner` the :class:`MetaArchitectureLearner` and its :class:`MetaSearchSettings`;
- :mod:`.experiment` a meta-search as a stored experiment (:func:`run_meta_search`,
  :func:`load_meta_architecture`);
- :mod:`.searched_protonet` the embedding a ``protonet`` meta-search found, retrained as a ProtoNet;
- :mod:`.meta_test` the papers' baselines meta-trained (:func:`meta_train_baseline`) and the meta-test of any
  trained learner (:func:`meta_test`).
"""

from archsearch.meta_search.experiment import (KIND, MetaSearch, MetaSearchResult, load_meta_architecture,
                                               prepare_meta_search, run_meta_search, settings_from_options)
from archsearch.meta_search.learner import METHODS, MetaArchitectureLearner, MetaSearchSettings
from archsearch.meta_search.meta_test import (BaselineRun, MetaTestResult, meta_test, meta_test_sampler,
                                              meta_train_baseline, meta_train_recipe)
from archsearch.meta_search.searched_protonet import derived_embedding, searched_protonet_baseline

__all__ = ["KIND", "METHODS", "BaselineRun", "MetaArchitectureLearner", "MetaSearch", "MetaSearchResult",
           "MetaSearchSettings", "MetaTestResult", "load_meta_architecture", "meta_test", "meta_test_sampler",
           "meta_train_baseline", "meta_train_recipe", "prepare_meta_search", "run_meta_search", "derived_embedding", "searched_protonet_baseline", "settings_from_options"]
