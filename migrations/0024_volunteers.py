from tortoise import migrations
from kepuri.db import AlterFieldState
from tortoise.migrations import operations as ops
from models.enums import DeliveryStatus, DocumentKind, NotificationKind, ShiftSource, VolunteerStatus
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """Science volunteers (科技志愿者): their registrations at activities, shifts on duty and
    the units' corrections of their hours, a campaign's choice to score TECH_VOLUNTEERS by hand,
    a notification kind and a document kind (only the columns' descriptions change: the state
    alone, as in 0019)."""
    dependencies = [('models', '0023_bookings')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Volunteer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('phone', fields.CharField(max_length=11)),
                ('name', fields.CharField(max_length=50)),
                ('status', fields.CharEnumField(default=VolunteerStatus.INVITED, description='INVITED: INVITED\nCONFIRMED: CONFIRMED\nDECLINED: DECLINED', enum_type=VolunteerStatus, max_length=12)),
                ('minutes', fields.IntField(default=0)),
                ('recorded_minutes', fields.IntField(null=True)),
                ('on_duty_since', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('invite_sms', fields.CharEnumField(default=DeliveryStatus.SKIPPED, description='PENDING: PENDING\nSENDING: SENDING\nSENT: SENT\nSKIPPED: SKIPPED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=12)),
                ('registered_by', fields.ForeignKeyField('models.User', source_field='registered_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', UtcDatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'volunteers', 'app': 'models', 'unique_together': (('activity', 'phone'),), 'indexes': [Index(fields=['user_id', 'activity_id'], name='volunteers_user'), Index(fields=['phone', 'user_id'], name='volunteers_phone')], 'pk_attr': 'id', 'table_description': 'A person registered as a volunteer at an activity, by phone: an account, or a phone'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VolunteerCorrection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('minutes_before', fields.IntField()),
                ('minutes_after', fields.IntField()),
                ('note', fields.TextField(unique=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'volunteer_corrections', 'app': 'models', 'indexes': [Index(fields=['volunteer_id', 'id'], name='corrections_volunteer')], 'pk_attr': 'id', 'table_description': "The unit's record or correction of a volunteer's hours: by whom, when, from what to"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VolunteerShift',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('started_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('source', fields.CharEnumField(description='PAGE: PAGE\nDEVICE: DEVICE', enum_type=ShiftSource, max_length=8)),
                ('device', fields.ForeignKeyField('models.CheckInDevice', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('start_nonce', fields.CharField(null=True, max_length=48)),
                ('end_nonce', fields.CharField(null=True, max_length=48)),
            ],
            options={'table': 'volunteer_shifts', 'app': 'models', 'unique_together': (('volunteer', 'start_nonce'), ('volunteer', 'end_nonce')), 'indexes': [Index(fields=['volunteer_id', 'started_at'], name='shifts_volunteer')], 'pk_attr': 'id', 'table_description': "A volunteer's time on duty, from a check-in to its check-out (open while `ended_at` is"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Campaign',
            name='volunteers_scored_by_hand',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        AlterFieldState(
            model_name='Document',
            name='kind',
            field=fields.CharEnumField(description='ACTIVITY_SUMMARY: ACTIVITY_SUMMARY\nSUMMARY_REPORT: SUMMARY_REPORT\nACTIVITY_SCHEDULE: ACTIVITY_SCHEDULE\nCERTIFICATES: CERTIFICATES\nBOOKING_LIST: BOOKING_LIST\nVOLUNTEER_RECORD: VOLUNTEER_RECORD', enum_type=DocumentKind, max_length=24),
        ),
        AlterFieldState(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='ACTIVITY_APPROVED: ACTIVITY_APPROVED\nACTIVITY_REJECTED: ACTIVITY_REJECTED\nDOCUMENT_READY: DOCUMENT_READY\nDEADLINE_REMINDER: DEADLINE_REMINDER\nREVIEW_REMINDER: REVIEW_REMINDER\nREVIEW_ESCALATED: REVIEW_ESCALATED\nRECOMMENDED: RECOMMENDED\nCOMMENDED: COMMENDED\nCERTIFICATE_READY: CERTIFICATE_READY\nINVITED: INVITED\nENGAGEMENT_FLAGGED: ENGAGEMENT_FLAGGED\nENGAGEMENT_RESOLVED: ENGAGEMENT_RESOLVED\nROUTE_COMPLETED: ROUTE_COMPLETED\nBOOKING_OFFERED: BOOKING_OFFERED\nBOOKING_REMINDER: BOOKING_REMINDER\nVOLUNTEER_INVITED: VOLUNTEER_INVITED', enum_type=NotificationKind, max_length=24),
        ),
    ]
