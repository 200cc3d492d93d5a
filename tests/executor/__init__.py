"""Tests of spec loading, the executor, the fixture runner and the spec CLI."""
