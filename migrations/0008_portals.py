from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ChangeKind
from models.fields import UtcDatetimeField
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
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
        ops.CreateModel(
            name='Webhook',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('url', fields.CharField(max_length=500)),
                ('events', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('region_code', fields.CharField(null=True, max_length=6)),
                ('secret', fields.CharField(max_length=64)),
                ('active', fields.BooleanField(default=True, db_default=True)),
                ('disabled_reason', fields.CharField(null=True, max_length=200)),
                ('api_client', fields.ForeignKeyField('models.ApiClient', source_field='api_client_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhooks', 'app': 'models', 'pk_attr': 'id', 'table_description': "A portal's endpoint for changes of a region. The secret signs every delivery."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('webhook', fields.ForeignKeyField('models.Webhook', source_field='webhook_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('change', fields.ForeignKeyField('models.ActivityChange', source_field='change_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event', fields.CharField(max_length=32)),
                ('payload', fields.TextField(unique=False)),
                ('status', fields.CharField(default='PENDING', db_default='PENDING', max_length=12)),
                ('attempts', fields.SmallIntField(default=0, db_default=0)),
                ('last_status_code', fields.SmallIntField(null=True)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook_deliveries', 'app': 'models', 'unique_together': (('webhook', 'change'),), 'indexes': [Index(fields=['webhook_id', 'id'], name='deliveries_webhook')], 'pk_attr': 'id', 'table_description': 'One change sent to one webhook: the stored payload, its state, one attempt row per try.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery', fields.ForeignKeyField('models.WebhookDelivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='attempt_rows', on_delete=OnDelete.CASCADE)),
                ('status_code', fields.SmallIntField(null=True)),
                ('error', fields.CharField(null=True, max_length=300)),
                ('duration_ms', fields.IntField(default=0, db_default=0)),
                ('attempted_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'webhook_attempts', 'app': 'models', 'indexes': [Index(fields=['delivery_id', 'id'], name='attempts_delivery')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
