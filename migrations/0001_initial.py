from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import MemberRole, OrganizationKind, RegionLevel, VerificationPurpose
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Region',
            fields=[
                ('code', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=6)),
                ('name', fields.CharField(max_length=64)),
                ('level', fields.CharEnumField(description='PROVINCE: PROVINCE\nPREFECTURE: PREFECTURE\nCOUNTY: COUNTY', enum_type=RegionLevel, max_length=16)),
                ('parent_code', fields.CharField(null=True, max_length=6)),
                ('province_code', fields.CharField(max_length=6)),
                ('prefecture_code', fields.CharField(null=True, max_length=6)),
            ],
            options={'table': 'regions', 'app': 'models', 'indexes': [Index(fields=['parent_code'], name='regions_parent'), Index(fields=['province_code'], name='regions_province'), Index(fields=['prefecture_code'], name='regions_prefecture')], 'pk_attr': 'code', 'table_description': 'An administrative division by its 6-digit code, with province and prefecture for filters.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organization',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharEnumField(description='NATIONAL_ORGANIZER: NATIONAL_ORGANIZER\nMINISTRY: MINISTRY\nNATIONAL_SOCIETY: NATIONAL_SOCIETY\nPROVINCIAL_ASSOCIATION: PROVINCIAL_ASSOCIATION\nMUNICIPAL_ASSOCIATION: MUNICIPAL_ASSOCIATION\nCOUNTY_ASSOCIATION: COUNTY_ASSOCIATION\nSCHOOL: SCHOOL\nRESEARCH_INSTITUTE: RESEARCH_INSTITUTE\nENTERPRISE: ENTERPRISE\nVENUE: VENUE\nMEDIA: MEDIA\nOTHER: OTHER', enum_type=OrganizationKind, max_length=32)),
                ('parent', fields.ForeignKeyField('models.Organization', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', db_constraint=True, to_field='code', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('province_code', fields.CharField(max_length=6)),
                ('prefecture_code', fields.CharField(null=True, max_length=6)),
                ('contact_name', fields.CharField(default='', db_default='', max_length=50)),
                ('contact_phone', fields.CharField(default='', db_default='', max_length=32)),
                ('address', fields.CharField(default='', db_default='', max_length=200)),
                ('intro', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'organizations', 'app': 'models', 'indexes': [Index(fields=['kind', 'province_code'], name='orgs_kind_province'), Index(fields=['kind', 'prefecture_code'], name='orgs_kind_prefecture'), Index(fields=['kind', 'region_id'], name='orgs_kind_region'), Index(fields=['parent_id'], name='orgs_parent')], 'pk_attr': 'id', 'table_description': 'A unit (单位): a filing unit or a supervising body, placed in the supervision tree.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('phone', fields.CharField(unique=True, max_length=11)),
                ('name', fields.CharField(max_length=50)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=255)),
                ('is_active', fields.BooleanField(default=True, db_default=True)),
                ('agreement_accepted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('password_changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=64)),
                ('target_type', fields.CharField(null=True, max_length=32)),
                ('target_id', fields.CharField(null=True, max_length=64)),
                ('data', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('ip', fields.CharField(null=True, max_length=45)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_log', 'app': 'models', 'indexes': [Index(fields=['target_type', 'target_id'], name='audit_target'), Index(fields=['actor_id', 'created_at'], name='audit_actor')], 'pk_attr': 'id', 'table_description': 'Who did what to which object, from where: logins, passwords, memberships, profiles.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='FILER: FILER\nREVIEWER: REVIEWER\nADMIN: ADMIN', enum_type=MemberRole, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'memberships', 'app': 'models', 'unique_together': (('user', 'organization', 'role'),), 'indexes': [Index(fields=['organization_id', 'role'], name='memberships_org_role')], 'pk_attr': 'id', 'table_description': "A person's role in an organization, one row per role."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ip', fields.CharField(null=True, max_length=45)),
                ('user_agent', fields.CharField(null=True, max_length=255)),
            ],
            options={'table': 'sessions', 'app': 'models', 'indexes': [Index(fields=['user_id', 'revoked_at'], name='sessions_user_active')], 'pk_attr': 'id', 'table_description': 'A bearer token, stored only as its SHA-256 hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VerificationCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('phone', fields.CharField(max_length=11)),
                ('purpose', fields.CharEnumField(description='REGISTER: REGISTER\nRESET_PASSWORD: RESET_PASSWORD', enum_type=VerificationPurpose, max_length=20)),
                ('code_hash', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0, db_default=0)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'verification_codes', 'app': 'models', 'indexes': [Index(fields=['phone', 'purpose', 'created_at'], name='codes_phone_purpose')], 'pk_attr': 'id', 'table_description': 'A 6-digit code sent by SMS, stored as an HMAC, single use, expiring, with a try counter.'},
            bases=['Model'],
        ),
    ]
