"""Losses: mixture reconstruction, KL with annealing, classification."""
