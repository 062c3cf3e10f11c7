"""Single-process training loop, reused by every Ray worker."""
