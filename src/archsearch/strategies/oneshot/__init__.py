"""One-shot strategies (DARTS, SNAS, GDAS, random search with weight sharing): how a supernet's
architecture logits are relaxed, updated and turned into architectures. The supernet training itself
(data, weights, optimisers) is :mod:`archsearch.estimators.supernet`."""
