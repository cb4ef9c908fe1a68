"""Demo data for ``make run``, made through the real domain operations (never by hand-written rows).

:mod:`setting` loads it all: organisations, staff in every role and candidates; then
:mod:`portfolio` (the candidates' portfolios and applications), :mod:`cases` (applications in
every state a case can rest in), :mod:`cards` (partner businesses, conventions and talent cards)
and :mod:`privacy` (the privacy notices). Out of the domain's way: nothing in the domain imports
it.
"""

#: Every demo account's e-mail address ends with this domain (the demo commands refuse others).
DEMO_DOMAIN = "demo.attesta.example"

__all__ = ["DEMO_DOMAIN", "cards", "cases", "portfolio", "privacy", "setting"]
