"""The study: one named experiment in a store, run as ask -> submit to an executor -> collect -> tell ->
commit. A module per job:

- :mod:`.study` the :class:`Study` (create, resume, the loop);
- :mod:`.components` the assembly of space, strategy, estimator and goal from a config, the metric checks,
  the one-shot engine and each trial's thread count;
- :mod:`.scheduler` the trials in flight (time-outs, retries of trials whose worker died);
- :mod:`.records` progress, the best trial, the record a result becomes;
- :mod:`.phases` what runs before the trials (the one-shot search, warm starts), with :mod:`.warm_start`
  and :mod:`.prerank`;
- :mod:`.checkpoints` the strategy checkpoint a resume restores and the replay of batch-era stores.
"""

from archsearch.store.base import stored_result
from archsearch.study.components import Components, build_components
from archsearch.study.records import Progress, best_trial, failure_reasons, study_cost
from archsearch.study.study import Study

__all__ = ["Components", "Progress", "Study", "best_trial", "build_components", "failure_reasons", "stored_result",
           "study_cost"]
