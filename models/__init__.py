"""The data. Tortoise discovers every model re-exported here (app label "models")."""

from models.accounts import AuditLog, Session, User, VerificationCode
from models.activities import Activity, ActivityMedia, ActivityStats, Review
from models.bookings import Booking, BookingSlot
from models.campaigns import Campaign, JointAction, PhaseWindow, RegionalSetting
from models.commendations import (
    Commendation,
    IndicatorScore,
    Objection,
    Recommendation,
    RecommendationQuota,
)
from models.documents import Document, DocumentReader
from models.engagement import (
    CheckIn,
    CheckInDevice,
    Comment,
    CommentModeration,
    EngagementFlag,
    Favorite,
    FlagAdjustment,
    FlaggedRecord,
    HeadCount,
    Like,
    Rating,
    ScanPosition,
)
from models.notifications import Notification
from models.operations import PersistedDocument
from models.organizations import Invitation, Membership, Organization, Region
from models.portals import ActivityChange, ApiClient, Webhook, WebhookAttempt, WebhookDelivery
from models.routes import RouteCompletion, RouteStop, ScienceRoute
from models.volunteers import Volunteer, VolunteerCorrection, VolunteerShift

__all__ = [
    "Activity",
    "ActivityChange",
    "ActivityMedia",
    "ActivityStats",
    "ApiClient",
    "AuditLog",
    "Booking",
    "BookingSlot",
    "Campaign",
    "CheckIn",
    "CheckInDevice",
    "Commendation",
    "Comment",
    "CommentModeration",
    "Document",
    "DocumentReader",
    "EngagementFlag",
    "Favorite",
    "FlagAdjustment",
    "FlaggedRecord",
    "HeadCount",
    "IndicatorScore",
    "Invitation",
    "JointAction",
    "Like",
    "Membership",
    "Notification",
    "Objection",
    "Organization",
    "PersistedDocument",
    "PhaseWindow",
    "Rating",
    "Recommendation",
    "RecommendationQuota",
    "Region",
    "RegionalSetting",
    "Review",
    "RouteCompletion",
    "RouteStop",
    "ScanPosition",
    "ScienceRoute",
    "Session",
    "User",
    "VerificationCode",
    "Volunteer",
    "VolunteerCorrection",
    "VolunteerShift",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
