from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import DocumentKind, DocumentStatus
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_login_codes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Document',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='ACTIVITY_SUMMARY: ACTIVITY_SUMMARY\nSUMMARY_REPORT: SUMMARY_REPORT\nACTIVITY_SCHEDULE: ACTIVITY_SCHEDULE\nCERTIFICATES: CERTIFICATES', enum_type=DocumentKind, max_length=24)),
                ('status', fields.CharEnumField(default=DocumentStatus.QUEUED, description='QUEUED: QUEUED\nRUNNING: RUNNING\nREADY: READY\nFAILED: FAILED', enum_type=DocumentStatus, max_length=12)),
                ('progress', fields.SmallIntField(default=0, db_default=0)),
                ('requester', fields.ForeignKeyField('models.User', source_field='requester_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('file', fields.CharField(null=True, max_length=200)),
                ('filename', fields.CharField(max_length=200)),
                ('content_type', fields.CharField(max_length=100)),
                ('size', fields.IntField(null=True)),
                ('checksum', fields.CharField(null=True, max_length=64)),
                ('error', fields.TextField(null=True, unique=False)),
                ('attempts', fields.SmallIntField(default=0, db_default=0)),
                ('expires_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', UtcDatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'documents', 'app': 'models', 'indexes': [Index(fields=['kind', 'fingerprint'], name='documents_inputs')], 'pk_attr': 'id', 'table_description': 'A rendering request: its scope, its state from QUEUED to READY or FAILED, and the file.'},
            bases=['Model'],
        ),
    ]
