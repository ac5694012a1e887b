from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import DeliveryStatus, NotificationKind
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_schedule')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('models.User', source_field='recipient_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='ACTIVITY_APPROVED: ACTIVITY_APPROVED\nACTIVITY_REJECTED: ACTIVITY_REJECTED\nDOCUMENT_READY: DOCUMENT_READY\nDEADLINE_REMINDER: DEADLINE_REMINDER\nREVIEW_REMINDER: REVIEW_REMINDER\nREVIEW_ESCALATED: REVIEW_ESCALATED', enum_type=NotificationKind, max_length=24)),
                ('key', fields.CharField(max_length=200)),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('email_status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: PENDING\nSENDING: SENDING\nSENT: SENT\nSKIPPED: SKIPPED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=12)),
                ('sms_status', fields.CharEnumField(default=DeliveryStatus.SKIPPED, description='PENDING: PENDING\nSENDING: SENDING\nSENT: SENT\nSKIPPED: SKIPPED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=12)),
                ('attempts', fields.SmallIntField(default=0, db_default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'models', 'unique_together': (('recipient', 'key'),), 'indexes': [Index(fields=['recipient_id', 'id'], name='notifications_recipient')], 'pk_attr': 'id', 'table_description': 'One message to one person. `key` names the occasion (an outcome, a reminder of an'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='notify_by_email',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='User',
            name='notify_by_sms',
            field=fields.BooleanField(default=True, db_default=True),
        ),
    ]
