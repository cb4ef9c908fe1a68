"""The certification case (pratica) along the IVC path (domain.md §7).

- :mod:`states`: the case's states and the table of transitions between them;
- :mod:`workflow`: the one engine every state change goes through (checks, history, hash chain),
  and the steps of intake (application, taking in charge, identification);
- :mod:`assessment`: validation and certification: the frozen rubric, dossier review, ratings,
  outcomes; :mod:`panels`: the assessment's panels and sessions (composition, terzietà,
  declarations); :mod:`appeals`: requests for review, decided by people on no earlier panel;
- :mod:`documents`: the documents of a case (Documento di trasparenza, verbale, …), rendered
  once and stored; :mod:`invitations`: the convocations' calendar files;
- :mod:`worklist`: whose next step a case waits for, and the staff's searchable list;
  :mod:`candidate_path`: where a candidate stands, for their home page.
"""

__all__ = [
    "appeals",
    "assessment",
    "candidate_path",
    "documents",
    "invitations",
    "panels",
    "states",
    "workflow",
    "worklist",
]
