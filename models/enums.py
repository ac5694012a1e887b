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


class DocumentStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"
