"""Personal data: the erasure ledger (who asked to be forgotten) and erasure across raw tables and models."""
