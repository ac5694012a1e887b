from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ActivityForm, ActivityStatus, MediaKind, OrganizationKind, Phase, ReviewDecision
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('year', fields.IntField(unique=True)),
                ('name', fields.CharField(max_length=100)),
                ('theme', fields.CharField(max_length=200)),
                ('starts_on', fields.DateField()),
                ('ends_on', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaigns', 'app': 'models', 'pk_attr': 'id', 'table_description': "One year's science day: name, theme and focus dates."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JointAction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='joint_actions', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('lead_units', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('region_code', fields.CharField(null=True, max_length=6)),
                ('position', fields.IntField(default=0, db_default=0)),
            ],
            options={'table': 'joint_actions', 'app': 'models', 'unique_together': (('campaign', 'region_code', 'name'),), 'pk_attr': 'id', 'table_description': 'A joint action (联合行动) of the catalogue: national, or added by a region.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Activity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.RESTRICT)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('title', fields.CharField(max_length=100)),
                ('description', fields.TextField(unique=False)),
                ('form', fields.CharEnumField(description='ONLINE: ONLINE\nOFFLINE: OFFLINE\nHYBRID: HYBRID', enum_type=ActivityForm, max_length=16)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', db_constraint=True, to_field='code', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('province_code', fields.CharField(max_length=6)),
                ('prefecture_code', fields.CharField(null=True, max_length=6)),
                ('address', fields.CharField(null=True, max_length=200)),
                ('online_url', fields.CharField(null=True, max_length=500)),
                ('supervisor_kind', fields.CharEnumField(description='NATIONAL_ORGANIZER: NATIONAL_ORGANIZER\nMINISTRY: MINISTRY\nNATIONAL_SOCIETY: NATIONAL_SOCIETY\nPROVINCIAL_ASSOCIATION: PROVINCIAL_ASSOCIATION\nMUNICIPAL_ASSOCIATION: MUNICIPAL_ASSOCIATION\nCOUNTY_ASSOCIATION: COUNTY_ASSOCIATION\nSCHOOL: SCHOOL\nRESEARCH_INSTITUTE: RESEARCH_INSTITUTE\nENTERPRISE: ENTERPRISE\nVENUE: VENUE\nMEDIA: MEDIA\nOTHER: OTHER', enum_type=OrganizationKind, max_length=32)),
                ('supervisor', fields.ForeignKeyField('models.Organization', source_field='supervisor_id', db_constraint=True, to_field='id', related_name='supervised_activities', on_delete=OnDelete.RESTRICT)),
                ('supervisor_name', fields.CharField(null=True, max_length=100)),
                ('host_units', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('organizer_units', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('joint_action', fields.ForeignKeyField('models.JointAction', source_field='joint_action_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.SET_NULL)),
                ('sub_theme', fields.CharField(null=True, max_length=200)),
                ('show_on_cloud', fields.BooleanField(default=True, db_default=True)),
                ('poster', fields.CharField(null=True, max_length=200)),
                ('status', fields.CharEnumField(default=ActivityStatus.DRAFT, description='DRAFT: DRAFT\nPENDING_REVIEW: PENDING_REVIEW\nAPPROVED: APPROVED\nREJECTED: REJECTED', enum_type=ActivityStatus, max_length=20)),
                ('submitted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reviewed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('qr_token', fields.CharField(null=True, unique=True, max_length=16)),
                ('supplemented_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('summary_text', fields.TextField(null=True, unique=False)),
                ('participant_count', fields.IntField(null=True)),
                ('summarized_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'activities', 'app': 'models', 'indexes': [Index(fields=['status', 'show_on_cloud', 'starts_at', 'id'], name='act_public'), Index(fields=['province_code', 'status', 'starts_at'], name='act_province'), Index(fields=['prefecture_code', 'status', 'starts_at'], name='act_prefecture'), Index(fields=['region_id', 'status', 'starts_at'], name='act_region'), Index(fields=['joint_action_id', 'status'], name='act_joint_action'), Index(fields=['campaign_id', 'status'], name='act_campaign'), Index(fields=['organization_id', 'status', 'id'], name='act_organization'), Index(fields=['supervisor_id', 'status', 'submitted_at', 'id'], name='act_review')], 'pk_attr': 'id', 'table_description': 'A science activity filed by a unit and reviewed by its supervising unit.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActivityMedia',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='media', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='PHOTO: PHOTO\nVIDEO: VIDEO\nNEWS: NEWS\nONLINE: ONLINE', enum_type=MediaKind, max_length=16)),
                ('url', fields.CharField(max_length=500)),
                ('position', fields.IntField(default=0, db_default=0)),
            ],
            options={'table': 'activity_media', 'app': 'models', 'indexes': [Index(fields=['activity_id', 'position'], name='media_activity')], 'pk_attr': 'id', 'table_description': 'A supplementary item: an uploaded photo, or a video, news or online link.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActivityStats',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.OneToOneField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='stats', on_delete=OnDelete.CASCADE)),
                ('check_ins', fields.IntField(default=0, db_default=0)),
                ('likes', fields.IntField(default=0, db_default=0)),
                ('comments', fields.IntField(default=0, db_default=0)),
                ('favorites', fields.IntField(default=0, db_default=0)),
                ('rating_sum', fields.IntField(default=0, db_default=0)),
                ('rating_count', fields.IntField(default=0, db_default=0)),
            ],
            options={'table': 'activity_stats', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Engagement counters of an activity, as last written behind from Redis.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CheckIn',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('client_nonce', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'check_ins', 'app': 'models', 'unique_together': (('activity', 'user', 'day'), ('user', 'client_nonce')), 'indexes': [Index(fields=['user_id', 'id'], name='check_ins_user')], 'pk_attr': 'id', 'table_description': 'One check-in per person, activity and day (Asia/Shanghai).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Favorite',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'favorites', 'app': 'models', 'unique_together': (('activity', 'user'),), 'indexes': [Index(fields=['user_id', 'id'], name='favorites_user')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Like',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'likes', 'app': 'models', 'unique_together': (('activity', 'user'),), 'indexes': [Index(fields=['user_id', 'id'], name='likes_user')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PhaseWindow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='windows', on_delete=OnDelete.CASCADE)),
                ('phase', fields.CharEnumField(description='FILING: FILING\nSUPPLEMENT: SUPPLEMENT\nSUMMARY: SUMMARY\nRECOMMENDATION: RECOMMENDATION\nPUBLIC_NOTICE: PUBLIC_NOTICE', enum_type=Phase, max_length=20)),
                ('region_code', fields.CharField(null=True, max_length=6)),
                ('opens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'phase_windows', 'app': 'models', 'unique_together': (('campaign', 'phase', 'region_code'),), 'indexes': [Index(fields=['campaign_id', 'region_code'], name='windows_campaign_region')], 'pk_attr': 'id', 'table_description': "When a phase opens and closes: nationally (no region) or for a region's subtree."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Rating',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('score', fields.SmallIntField()),
                ('feedback', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'ratings', 'app': 'models', 'unique_together': (('activity', 'user'),), 'pk_attr': 'id', 'table_description': "A score 1..5 with optional feedback. A new rating replaces the person's old one."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RegionalSetting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='regional_settings', on_delete=OnDelete.CASCADE)),
                ('region_code', fields.CharField(max_length=6)),
                ('sub_theme', fields.CharField(null=True, max_length=200)),
                ('max_media', fields.IntField(null=True)),
            ],
            options={'table': 'regional_settings', 'app': 'models', 'unique_together': (('campaign', 'region_code'),), 'pk_attr': 'id', 'table_description': 'What a province or city sets for the units under it: a sub-theme, a media cap.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Review',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='reviews', on_delete=OnDelete.CASCADE)),
                ('reviewer', fields.ForeignKeyField('models.User', source_field='reviewer_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('decision', fields.CharEnumField(description='APPROVE: APPROVE\nREJECT: REJECT', enum_type=ReviewDecision, max_length=16)),
                ('comment', fields.TextField(null=True, unique=False)),
                ('reviewed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reviews', 'app': 'models', 'indexes': [Index(fields=['activity_id', 'reviewed_at'], name='reviews_activity')], 'pk_attr': 'id', 'table_description': 'One decision of a supervising unit on an activity (the history stays).'},
            bases=['Model'],
        ),
    ]
