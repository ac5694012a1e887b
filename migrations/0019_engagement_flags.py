from tortoise import migrations
from tortoise.migrations import operations as ops
from kepuri.db import AlterFieldState
from models.enums import FlagStatus, FraudRule, NotificationKind
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """Fraud flags on engagement (services/fraud.py): the flags, their records, the events that
    take them out of the counts and put them back, the rules' read positions; the address of an
    online check-in and the indexes of the rules' windows; two notification kinds (only the
    column's description changes: the state alone, as on SQLite a rebuilt table loses indexes)."""

    dependencies = [('models', '0018_head_counts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EngagementFlag',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('rule', fields.CharEnumField(description='SOURCE_BURST: SOURCE_BURST\nNEW_ACCOUNTS_ONE_ADDRESS: NEW_ACCOUNTS_ONE_ADDRESS\nFAR_APART: FAR_APART\nACCOUNT_COHORT: ACCOUNT_COHORT', enum_type=FraudRule, max_length=32)),
                ('reason', fields.CharField(max_length=300)),
                ('status', fields.CharEnumField(default=FlagStatus.PENDING, description='PENDING: PENDING\nCONFIRMED: CONFIRMED\nDISMISSED: DISMISSED', enum_type=FlagStatus, max_length=16)),
                ('check_ins', fields.IntField(default=0)),
                ('offline_check_ins', fields.IntField(default=0)),
                ('likes', fields.IntField(default=0)),
                ('rating_sum', fields.IntField(default=0)),
                ('rating_count', fields.IntField(default=0)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_by', fields.ForeignKeyField('models.User', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('resolved_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('note', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'engagement_flags', 'app': 'models', 'indexes': [Index(fields=['status', 'activity_id'], name='flags_status'), Index(fields=['activity_id', 'id'], name='flags_activity')], 'pk_attr': 'id', 'table_description': 'Engagement a fraud rule found suspicious (services/fraud.py): its records are taken out'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FlagAdjustment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('flag', fields.ForeignKeyField('models.EngagementFlag', source_field='flag_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('sign', fields.SmallIntField()),
                ('check_ins', fields.IntField()),
                ('offline_check_ins', fields.IntField()),
                ('likes', fields.IntField()),
                ('rating_sum', fields.IntField()),
                ('rating_count', fields.IntField()),
                ('counted', fields.BooleanField(default=False, db_default=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'flag_adjustments', 'app': 'models', 'unique_together': (('flag', 'sign'),), 'indexes': [Index(fields=['counted', 'id'], name='adjustments_uncounted')], 'pk_attr': 'id', 'table_description': 'A flag taking its amounts out of the counts (`sign` -1), or its dismissal putting them'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FlaggedRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('flag', fields.ForeignKeyField('models.EngagementFlag', source_field='flag_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=1)),
                ('record_id', fields.BigIntField()),
                ('activity_id', fields.IntField()),
                ('user_id', fields.IntField()),
                ('held', fields.BooleanField(default=True)),
            ],
            options={'table': 'flagged_records', 'app': 'models', 'unique_together': (('kind', 'record_id'),), 'indexes': [Index(fields=['activity_id', 'user_id'], name='flagged_person'), Index(fields=['flag_id'], name='flagged_flag')], 'pk_attr': 'id', 'table_description': "A record under a flag: a check-in, or a person's like or rating of an activity (then"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScanPosition',
            fields=[
                ('kind', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=1)),
                ('position', fields.BigIntField(default=0)),
            ],
            options={'table': 'fraud_scan_positions', 'app': 'models', 'pk_attr': 'kind', 'table_description': 'How far the fraud rules have read a kind of record (its last id).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='CheckIn',
            name='address',
            field=fields.CharField(null=True, max_length=45),
        ),
        ops.AddIndex(
            model_name='CheckIn',
            index=Index(fields=['activity_id', 'created_at'], name='check_ins_activity_time'),
        ),
        ops.AddIndex(
            model_name='CheckIn',
            index=Index(fields=['address', 'created_at'], name='check_ins_address_time'),
        ),
        AlterFieldState(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='ACTIVITY_APPROVED: ACTIVITY_APPROVED\nACTIVITY_REJECTED: ACTIVITY_REJECTED\nDOCUMENT_READY: DOCUMENT_READY\nDEADLINE_REMINDER: DEADLINE_REMINDER\nREVIEW_REMINDER: REVIEW_REMINDER\nREVIEW_ESCALATED: REVIEW_ESCALATED\nRECOMMENDED: RECOMMENDED\nCOMMENDED: COMMENDED\nCERTIFICATE_READY: CERTIFICATE_READY\nINVITED: INVITED\nENGAGEMENT_FLAGGED: ENGAGEMENT_FLAGGED\nENGAGEMENT_RESOLVED: ENGAGEMENT_RESOLVED', enum_type=NotificationKind, max_length=24),
        ),
    ]
