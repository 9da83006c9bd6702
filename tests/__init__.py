"""The test suite; shared fixtures and helpers live in tests.helpers."""
