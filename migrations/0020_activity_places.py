from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """Where offline and hybrid activities take place (WGS-84), indexed for activitiesNear."""

    dependencies = [('models', '0019_engagement_flags')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Activity',
            name='latitude',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Activity',
            name='longitude',
            field=fields.FloatField(null=True),
        ),
        ops.AddIndex(
            model_name='Activity',
            index=Index(fields=['status', 'latitude', 'longitude'], name='act_place'),
        ),
    ]
