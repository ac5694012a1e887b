from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """A page of a region's public activities is read in index order: the indexes end with
    the id, the tie-breaker of the order (without it the whole region was sorted for 20 rows)."""

    dependencies = [('models', '0015_persisted_documents')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Activity',
            name='act_province',
            fields=None,
        ),
        ops.RemoveIndex(
            model_name='Activity',
            name='act_prefecture',
            fields=None,
        ),
        ops.RemoveIndex(
            model_name='Activity',
            name='act_region',
            fields=None,
        ),
        ops.AddIndex(
            model_name='Activity',
            index=Index(fields=['province_code', 'status', 'starts_at', 'id'], name='act_province_page'),
        ),
        ops.AddIndex(
            model_name='Activity',
            index=Index(fields=['prefecture_code', 'status', 'starts_at', 'id'], name='act_prefecture_page'),
        ),
        ops.AddIndex(
            model_name='Activity',
            index=Index(fields=['region_id', 'status', 'starts_at', 'id'], name='act_region_page'),
        ),
    ]
