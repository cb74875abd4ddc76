"""Tests of the Python client against a real server (see server.py)."""
