from tortoise import migrations
from tortoise.migrations import operations as ops
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_waiting_documents')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DocumentReader',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.ForeignKeyField('models.Document', source_field='document_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'document_readers', 'app': 'models', 'unique_together': (('document', 'user'),), 'pk_attr': 'id', 'table_description': 'Someone who asked for a document that was already queued, running or ready (the same'},
            bases=['Model'],
        ),
    ]
