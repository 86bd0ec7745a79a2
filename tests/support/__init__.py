"""Helpers shared by the tests: every test module imports them from here, never from another test
module."""
