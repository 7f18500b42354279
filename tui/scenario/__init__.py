"""Scenarios: an edge case as a script (TOML, docs/scenarios.md) that runs headless as a test."""
