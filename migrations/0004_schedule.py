from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_documents')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Activity',
            name='expected_participants',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Document',
            name='parameters',
            field=fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
