from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    """A venue's default place (WGS-84), which its offline activities take unless they give one."""

    dependencies = [('models', '0021_science_routes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Organization',
            name='latitude',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Organization',
            name='longitude',
            field=fields.FloatField(null=True),
        ),
    ]
