from tortoise import migrations
from tortoise.migrations import operations as ops
from models.fields import UtcDatetimeField
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """Venues' check-in devices (offline check-in), and the device a check-in was scanned by."""

    dependencies = [('models', '0016_region_pages')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CheckInDevice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=50)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('activity_ids', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_upload_at', UtcDatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'check_in_devices', 'app': 'models', 'indexes': [Index(fields=['organization_id', 'id'], name='devices_organization')], 'pk_attr': 'id', 'table_description': "A venue's check-in device (a caravan's tablet): checks people's codes offline for the"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='CheckIn',
            name='device',
            field=fields.ForeignKeyField('models.CheckInDevice', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
    ]
