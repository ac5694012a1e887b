from tortoise import migrations
from tortoise.migrations import operations as ops
from kepuri.db import AlterFieldState
from models.enums import CommendationKind, CommendationStatus, Indicator, NotificationKind, RecommendationStatus
from models.fields import UtcDatetimeField
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_portals')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IndicatorScore',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('indicator', fields.CharEnumField(description='SOCIAL_MOBILIZATION: SOCIAL_MOBILIZATION\nJOINT_ACTIONS: JOINT_ACTIONS\nONLINE_ACTIVITIES: ONLINE_ACTIVITIES\nPUBLICITY: PUBLICITY\nTECH_VOLUNTEERS: TECH_VOLUNTEERS\nINFORMATION_SERVICE: INFORMATION_SERVICE\nPUBLIC_EVALUATION: PUBLIC_EVALUATION', enum_type=Indicator, max_length=24)),
                ('score', fields.FloatField()),
                ('note', fields.TextField(null=True, unique=False)),
                ('scored_by', fields.ForeignKeyField('models.User', source_field='scored_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('updated_at', UtcDatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'indicator_scores', 'app': 'models', 'unique_together': (('campaign', 'organization', 'indicator'),), 'pk_attr': 'id', 'table_description': 'A score national staff gave an organizing body on an indicator not computed from data.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Recommendation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('recommender', fields.ForeignKeyField('models.Organization', source_field='recommender_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('recommended_by', fields.ForeignKeyField('models.User', source_field='recommended_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('target_kind', fields.CharEnumField(description='UNIT: UNIT\nACTIVITY: ACTIVITY', enum_type=CommendationKind, max_length=12)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('reason', fields.TextField(unique=False)),
                ('status', fields.CharEnumField(default=RecommendationStatus.ACTIVE, description='ACTIVE: ACTIVE\nWITHDRAWN: WITHDRAWN', enum_type=RecommendationStatus, max_length=12)),
                ('active_target', fields.CharField(null=True, max_length=32)),
                ('withdrawn_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'recommendations', 'app': 'models', 'unique_together': (('campaign', 'recommender', 'active_target'),), 'indexes': [Index(fields=['campaign_id', 'status', 'id'], name='recommendations_campaign'), Index(fields=['campaign_id', 'active_target'], name='recommendations_target')], 'pk_attr': 'id', 'table_description': 'A provincial association or national society recommends a unit or an activity under it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Commendation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='UNIT: UNIT\nACTIVITY: ACTIVITY', enum_type=CommendationKind, max_length=12)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('recommendation', fields.ForeignKeyField('models.Recommendation', source_field='recommendation_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('holder_name', fields.CharField(max_length=200)),
                ('unit_name', fields.CharField(max_length=100)),
                ('status', fields.CharEnumField(default=CommendationStatus.PROPOSED, description='PROPOSED: PROPOSED\nREMOVED: REMOVED\nFINAL: FINAL\nREVOKED: REVOKED', enum_type=CommendationStatus, max_length=12)),
                ('active_target', fields.CharField(null=True, max_length=32)),
                ('decided_by', fields.ForeignKeyField('models.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('notice_starts_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('notice_ends_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('removed_reason', fields.TextField(null=True, unique=False)),
                ('removed_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finalized_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('serial', fields.CharField(null=True, unique=True, max_length=32)),
                ('certificate_file', fields.CharField(null=True, max_length=200)),
                ('revoked_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.TextField(null=True, unique=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'commendations', 'app': 'models', 'unique_together': (('campaign', 'active_target'),), 'indexes': [Index(fields=['campaign_id', 'kind', 'status', 'id'], name='commendations_list'), Index(fields=['organization_id'], name='commendations_holder')], 'pk_attr': 'id', 'table_description': 'An entry of the commendation list: proposed for public notice, then final (or removed).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Objection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('commendation', fields.ForeignKeyField('models.Commendation', source_field='commendation_id', db_constraint=True, to_field='id', related_name='objections', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('reason', fields.TextField(unique=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'objections', 'app': 'models', 'unique_together': (('commendation', 'user'),), 'pk_attr': 'id', 'table_description': 'Someone signed in objects to a proposed entry during its public notice, under their own'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RecommendationQuota',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('units', fields.IntField(null=True)),
                ('activities', fields.IntField(null=True)),
                ('updated_at', UtcDatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'recommendation_quotas', 'app': 'models', 'unique_together': (('campaign', 'organization'),), 'pk_attr': 'id', 'table_description': 'How many units and activities a recommender may recommend (null: the default).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Campaign',
            name='indicator_weights',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        AlterFieldState(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='ACTIVITY_APPROVED: ACTIVITY_APPROVED\nACTIVITY_REJECTED: ACTIVITY_REJECTED\nDOCUMENT_READY: DOCUMENT_READY\nDEADLINE_REMINDER: DEADLINE_REMINDER\nREVIEW_REMINDER: REVIEW_REMINDER\nREVIEW_ESCALATED: REVIEW_ESCALATED\nRECOMMENDED: RECOMMENDED\nCOMMENDED: COMMENDED\nCERTIFICATE_READY: CERTIFICATE_READY', enum_type=NotificationKind, max_length=24),
        ),
    ]
