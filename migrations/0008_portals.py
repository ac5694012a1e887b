from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ChangeKind
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_escalation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActivityChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='ACTIVITY_PUBLISHED: ACTIVITY_PUBLISHED\nACTIVITY_UPDATED: ACTIVITY_UPDATED\nACTIVITY_SUPPLEMENTED: ACTIVITY_SUPPLEMENTED\nACTIVITY_SUMMARIZED: ACTIVITY_SUMMARIZED\nACTIVITY_WITHDRAWN: ACTIVITY_WITHDRAWN', enum_type=ChangeKind, max_length=24)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('region_code', fields.CharField(max_length=6)),
                ('province_code', fields.CharField(max_length=6)),
                ('prefecture_code', fields.CharField(null=True, max_length=6)),
                ('occurred_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'activity_changes', 'app': 'models', 'indexes': [Index(fields=['province_code', 'id'], name='changes_province'), Index(fields=['prefecture_code', 'id'], name='changes_prefecture'), Index(fields=['region_code', 'id'], name='changes_region')], 'pk_attr': 'id', 'table_description': 'A change a portal can see, written in the transaction of the change (an outbox). The id is'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiClient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('region_code', fields.CharField(max_length=6)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('active', fields.BooleanField(default=True, db_default=True)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'api_clients', 'app': 'models', 'pk_attr': 'id', 'table_description': "A portal's credentials: a token (stored as a hash) that sees one region's changes."},
            bases=['Model'],
        ),
    ]
