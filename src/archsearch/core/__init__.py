"""The one interface: dims, architectures, spaces, strategies, estimators, objectives, registries."""
