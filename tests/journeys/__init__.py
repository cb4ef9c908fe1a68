"""Browser journeys: Playwright in Debian's Chromium against a served instance (issue 8).

Skipped unless ``ATTESTA_JOURNEYS=1``; see ``conftest.py``.
"""
