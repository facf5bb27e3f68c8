"""archsearch: neural architecture search on PyTorch.

The package splits NAS into a search space, a search strategy and a performance estimator
(see docs/architecture.md). Importing it is light: spaces, strategies and estimators load lazily through
the registries in :mod:`archsearch.core.registry`.
"""

from archsearch.core.arch import Arch
from archsearch.core.dims import Categorical, Integer
from archsearch.core.errors import UserError
from archsearch.core.objectives import Objective
from archsearch.core.result import Result

__version__ = "0.1.0"

__all__ = ["Arch", "Categorical", "Integer", "Objective", "Result", "UserError", "__version__"]
