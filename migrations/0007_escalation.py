from tortoise import migrations
from tortoise.migrations import operations as ops
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_reminder_days')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Activity',
            name='escalated_at',
            field=UtcDatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Activity',
            name='escalated_to',
            field=fields.ForeignKeyField('models.Organization', source_field='escalated_to_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='Activity',
            index=Index(fields=['escalated_to_id', 'status', 'submitted_at', 'id'], name='act_escalated'),
        ),
        ops.AddIndex(
            model_name='Activity',
            index=Index(fields=['status', 'submitted_at'], name='act_pending_since'),
        ),
    ]
