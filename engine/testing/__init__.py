"""Helpers for users' own tests: hypothesis strategies and the spec-fixture runner."""
