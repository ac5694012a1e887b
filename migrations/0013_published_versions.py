from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    """Each change keeps the version of the activity it shows portals."""

    dependencies = [('models', '0012_document_readers')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ActivityChange',
            name='published',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
