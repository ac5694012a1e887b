from tortoise import migrations
from tortoise.migrations import operations as ops
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """Head counts of visitors without an account (现场人数), and the activity counters that keep
    them and the offline check-ins apart."""

    dependencies = [('models', '0017_check_in_devices')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HeadCount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('device', fields.ForeignKeyField('models.CheckInDevice', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('count', fields.IntField()),
                ('counted_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
                ('client_nonce', fields.CharField(max_length=64)),
                ('counted', fields.BooleanField(default=False, db_default=False)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'head_counts', 'app': 'models', 'unique_together': (('device', 'client_nonce'),), 'indexes': [Index(fields=['counted', 'id'], name='head_counts_uncounted')], 'pk_attr': 'id', 'table_description': 'Visitors without an account a device counted at a venue (现场人数): an event that adds'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ActivityStats',
            name='head_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='ActivityStats',
            name='offline_check_ins',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
