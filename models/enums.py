"""Enumerations stored in the database (plain Python enums; the schema exposes them)."""

from enum import StrEnum


class RegionLevel(StrEnum):
    PROVINCE = "PROVINCE"
    PREFECTURE = "PREFECTURE"
    COUNTY = "COUNTY"


class OrganizationKind(StrEnum):
    NATIONAL_ORGANIZER = "NATIONAL_ORGANIZER"
    MINISTRY = "MINISTRY"
    NATIONAL_SOCIETY = "NATIONAL_SOCIETY"
    PROVINCIAL_ASSOCIATION = "PROVINCIAL_ASSOCIATION"
    MUNICIPAL_ASSOCIATION = "MUNICIPAL_ASSOCIATION"
    COUNTY_ASSOCIATION = "COUNTY_ASSOCIATION"
    SCHOOL = "SCHOOL"
    RESEARCH_INSTITUTE = "RESEARCH_INSTITUTE"
    ENTERPRISE = "ENTERPRISE"
    VENUE = "VENUE"
    MEDIA = "MEDIA"
    OTHER = "OTHER"


class MemberRole(StrEnum):
    FILER = "FILER"
    REVIEWER = "REVIEWER"
    ADMIN = "ADMIN"


class InvitationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class VerificationPurpose(StrEnum):
    REGISTER = "REGISTER"
    LOGIN = "LOGIN"
    RESET_PASSWORD = "RESET_PASSWORD"  # noqa: S105 (a purpose, not a password)


class Phase(StrEnum):
    FILING = "FILING"
    SUPPLEMENT = "SUPPLEMENT"
    SUMMARY = "SUMMARY"
    RECOMMENDATION = "RECOMMENDATION"
    PUBLIC_NOTICE = "PUBLIC_NOTICE"


class ActivityForm(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    HYBRID = "HYBRID"


class ActivityStatus(StrEnum):
    DRAFT = "DRAFT"
    PENDING_REVIEW = "PENDING_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ReviewDecision(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


class MediaKind(StrEnum):
    PHOTO = "PHOTO"
    VIDEO = "VIDEO"
    NEWS = "NEWS"
    ONLINE = "ONLINE"


class DocumentKind(StrEnum):
    ACTIVITY_SUMMARY = "ACTIVITY_SUMMARY"
    SUMMARY_REPORT = "SUMMARY_REPORT"
    ACTIVITY_SCHEDULE = "ACTIVITY_SCHEDULE"
    CERTIFICATES = "CERTIFICATES"
    BOOKING_LIST = "BOOKING_LIST"
    VOLUNTEER_RECORD = "VOLUNTEER_RECORD"


class DocumentStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"


class NotificationKind(StrEnum):
    ACTIVITY_APPROVED = "ACTIVITY_APPROVED"
    ACTIVITY_REJECTED = "ACTIVITY_REJECTED"
    DOCUMENT_READY = "DOCUMENT_READY"
    DEADLINE_REMINDER = "DEADLINE_REMINDER"
    REVIEW_REMINDER = "REVIEW_REMINDER"
    REVIEW_ESCALATED = "REVIEW_ESCALATED"
    RECOMMENDED = "RECOMMENDED"
    COMMENDED = "COMMENDED"
    CERTIFICATE_READY = "CERTIFICATE_READY"
    INVITED = "INVITED"
    ENGAGEMENT_FLAGGED = "ENGAGEMENT_FLAGGED"
    ENGAGEMENT_RESOLVED = "ENGAGEMENT_RESOLVED"
    ROUTE_COMPLETED = "ROUTE_COMPLETED"
    BOOKING_OFFERED = "BOOKING_OFFERED"
    BOOKING_REMINDER = "BOOKING_REMINDER"
    VOLUNTEER_INVITED = "VOLUNTEER_INVITED"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


class ChangeKind(StrEnum):
    ACTIVITY_PUBLISHED = "ACTIVITY_PUBLISHED"
    ACTIVITY_UPDATED = "ACTIVITY_UPDATED"
    ACTIVITY_SUPPLEMENTED = "ACTIVITY_SUPPLEMENTED"
    ACTIVITY_SUMMARIZED = "ACTIVITY_SUMMARIZED"
    ACTIVITY_WITHDRAWN = "ACTIVITY_WITHDRAWN"


class CommendationKind(StrEnum):
    """What is recommended or commended: an organizing unit or an activity."""

    UNIT = "UNIT"
    ACTIVITY = "ACTIVITY"


class RecommendationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    WITHDRAWN = "WITHDRAWN"


class CommendationStatus(StrEnum):
    PROPOSED = "PROPOSED"  # on the list published for public notice
    REMOVED = "REMOVED"  # taken off the proposed list (after an objection, say)
    FINAL = "FINAL"  # commended: on the public lists, with a certificate
    REVOKED = "REVOKED"  # commended, then withdrawn: its certificate no longer verifies


class Indicator(StrEnum):
    SOCIAL_MOBILIZATION = "SOCIAL_MOBILIZATION"
    JOINT_ACTIONS = "JOINT_ACTIONS"
    ONLINE_ACTIVITIES = "ONLINE_ACTIVITIES"
    PUBLICITY = "PUBLICITY"
    TECH_VOLUNTEERS = "TECH_VOLUNTEERS"
    INFORMATION_SERVICE = "INFORMATION_SERVICE"
    PUBLIC_EVALUATION = "PUBLIC_EVALUATION"


class FraudRule(StrEnum):
    """Why engagement was flagged (services/fraud.py has one function per rule)."""

    SOURCE_BURST = "SOURCE_BURST"  # one device or address, beyond the activity's size
    NEW_ACCOUNTS_ONE_ADDRESS = "NEW_ACCOUNTS_ONE_ADDRESS"
    FAR_APART = "FAR_APART"  # one account at places far apart within minutes
    ACCOUNT_COHORT = "ACCOUNT_COHORT"  # likes and ratings from accounts created together


class FlagStatus(StrEnum):
    PENDING = "PENDING"  # out of the counts until a reviewer decides
    CONFIRMED = "CONFIRMED"  # fraud: out for good
    DISMISSED = "DISMISSED"  # back in the counts


class BookingStatus(StrEnum):
    BOOKED = "BOOKED"  # holds a place
    WAITING = "WAITING"  # on the waiting list
    OFFERED = "OFFERED"  # a freed place is held for them until a deadline
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # an offer not taken in time


class VolunteerStatus(StrEnum):
    INVITED = "INVITED"  # registered by the unit; the person has not said yes
    CONFIRMED = "CONFIRMED"  # the person said yes, or checked in as the volunteer
    DECLINED = "DECLINED"


class ShiftSource(StrEnum):
    """Where a volunteer's time on duty was taken."""

    PAGE = "PAGE"  # checked in and out on the activity's page
    DEVICE = "DEVICE"  # scanned by the unit's check-in device
