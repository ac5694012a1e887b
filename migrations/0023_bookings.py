from tortoise import migrations
from tortoise.migrations import operations as ops
from kepuri.db import AlterFieldState
from models.enums import DocumentKind, BookingStatus, NotificationKind
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """Booking (预约): activities that need it, their slots with places, bookings with a waiting
    list, two notification kinds and a document kind (only the columns' descriptions change:
    the state alone, as in 0019)."""

    dependencies = [('models', '0022_venue_places')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BookingSlot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('starts_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('capacity', fields.IntField()),
                ('booked', fields.IntField(default=0)),
            ],
            options={'table': 'booking_slots', 'app': 'models', 'indexes': [Index(fields=['activity_id', 'starts_at'], name='slots_activity')], 'pk_attr': 'id', 'table_description': 'A time slot of an activity that needs booking, with its places.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Booking',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slot', fields.ForeignKeyField('models.BookingSlot', source_field='slot_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(description='BOOKED: BOOKED\nWAITING: WAITING\nOFFERED: OFFERED\nCANCELLED: CANCELLED\nEXPIRED: EXPIRED', enum_type=BookingStatus, max_length=16)),
                ('queued_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('offered_until', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attended_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', UtcDatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'bookings', 'app': 'models', 'unique_together': (('slot', 'user'),), 'indexes': [Index(fields=['slot_id', 'status', 'queued_at'], name='bookings_queue'), Index(fields=['user_id', 'id'], name='bookings_user'), Index(fields=['status', 'offered_until'], name='bookings_offers'), Index(fields=['activity_id', 'user_id'], name='bookings_activity')], 'pk_attr': 'id', 'table_description': "A person's booking of a slot (one per slot: booking again after cancelling reuses it)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Activity',
            name='booking_required',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        AlterFieldState(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='ACTIVITY_APPROVED: ACTIVITY_APPROVED\nACTIVITY_REJECTED: ACTIVITY_REJECTED\nDOCUMENT_READY: DOCUMENT_READY\nDEADLINE_REMINDER: DEADLINE_REMINDER\nREVIEW_REMINDER: REVIEW_REMINDER\nREVIEW_ESCALATED: REVIEW_ESCALATED\nRECOMMENDED: RECOMMENDED\nCOMMENDED: COMMENDED\nCERTIFICATE_READY: CERTIFICATE_READY\nINVITED: INVITED\nENGAGEMENT_FLAGGED: ENGAGEMENT_FLAGGED\nENGAGEMENT_RESOLVED: ENGAGEMENT_RESOLVED\nROUTE_COMPLETED: ROUTE_COMPLETED\nBOOKING_OFFERED: BOOKING_OFFERED\nBOOKING_REMINDER: BOOKING_REMINDER', enum_type=NotificationKind, max_length=24),
        ),
        AlterFieldState(
            model_name='Document',
            name='kind',
            field=fields.CharEnumField(description='ACTIVITY_SUMMARY: ACTIVITY_SUMMARY\nSUMMARY_REPORT: SUMMARY_REPORT\nACTIVITY_SCHEDULE: ACTIVITY_SCHEDULE\nCERTIFICATES: CERTIFICATES\nBOOKING_LIST: BOOKING_LIST', enum_type=DocumentKind, max_length=24),
        ),
    ]
