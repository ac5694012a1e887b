from tortoise import migrations
from kepuri.db import AlterFieldState
from tortoise.migrations import operations as ops
from models.enums import InvitationStatus, MemberRole, NotificationKind
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """Invitations: a person joins a unit only by accepting one."""

    dependencies = [('models', '0013_published_versions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='FILER: FILER\nREVIEWER: REVIEWER\nADMIN: ADMIN', enum_type=MemberRole, max_length=16)),
                ('invited_by', fields.ForeignKeyField('models.User', source_field='invited_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=InvitationStatus.PENDING, description='PENDING: PENDING\nACCEPTED: ACCEPTED\nDECLINED: DECLINED', enum_type=InvitationStatus, max_length=12)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
                ('answered_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invitations', 'app': 'models', 'indexes': [Index(fields=['user_id', 'status'], name='invitations_invitee')], 'pk_attr': 'id', 'table_description': "An admin's invitation of a person to a role in a unit: a membership only once the person"},
            bases=['Model'],
        ),
        # the enum's description grows by a member; the column stays as it is (see AlterFieldState)
        AlterFieldState(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='ACTIVITY_APPROVED: ACTIVITY_APPROVED\nACTIVITY_REJECTED: ACTIVITY_REJECTED\nDOCUMENT_READY: DOCUMENT_READY\nDEADLINE_REMINDER: DEADLINE_REMINDER\nREVIEW_REMINDER: REVIEW_REMINDER\nREVIEW_ESCALATED: REVIEW_ESCALATED\nRECOMMENDED: RECOMMENDED\nCOMMENDED: COMMENDED\nCERTIFICATE_READY: CERTIFICATE_READY\nINVITED: INVITED', enum_type=NotificationKind, max_length=24),
        ),
    ]
