"""Utilities every layer may use: atomic writes, docs, lazy imports, JSON, logging, threads, deprecations."""
