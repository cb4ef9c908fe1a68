"""All tables. Import models from here so that every mapper is configured together."""

from certification.models.accounts import (
    ApiToken,
    Organisation,
    Person,
    StaffRole,
    UserAccount,
    UserSession,
)
from certification.models.audit import AuditEvent
from certification.models.outbox import OutboxMessage
from certification.models.standards import (
    Competence,
    CompetenceStatement,
    Criterion,
    Framework,
    Profile,
    ProfileCompetence,
    RubricLevel,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Competence",
    "CompetenceStatement",
    "Criterion",
    "Framework",
    "Organisation",
    "OutboxMessage",
    "Person",
    "Profile",
    "ProfileCompetence",
    "RubricLevel",
    "StaffRole",
    "UserAccount",
    "UserSession",
]
