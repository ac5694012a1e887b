from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """The sweep that queues lost document jobs again looks for documents still waiting after a
    while: by status and last change."""

    dependencies = [('models', '0010_lost_indexes')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Document',
            index=Index(fields=['status', 'updated_at'], name='documents_waiting'),
        ),
    ]
