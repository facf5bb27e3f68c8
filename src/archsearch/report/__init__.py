"""Plots and reports (read only from results or the store)."""
