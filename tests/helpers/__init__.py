"""Test helpers shared by the test files: builders, polling and fixtures' parts."""
