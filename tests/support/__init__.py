"""Helpers shared by test modules: plain functions, constants and classes, no fixtures.

Test modules import from here (never from another test module or a conftest); the fixtures
shared by several modules are in ``tests/fixtures/``, registered in ``tests/conftest.py``.
"""
