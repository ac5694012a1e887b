"""The data. Tortoise discovers every model re-exported here (app label "models")."""

from models.accounts import AuditLog, Session, User, VerificationCode
from models.organizations import Membership, Organization, Region

__all__ = [
    "AuditLog",
    "Membership",
    "Organization",
    "Region",
    "Session",
    "User",
    "VerificationCode",
]
