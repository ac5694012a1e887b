from tortoise import migrations
from tortoise.migrations import operations as ops
from models.fields import UtcDatetimeField
from tortoise import fields

class Migration(migrations.Migration):
    """Persisted documents: the operations clients may send by id."""

    dependencies = [('models', '0014_invitations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PersistedDocument',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=71)),
                ('body', fields.TextField(unique=False)),
                ('operation_name', fields.CharField(null=True, max_length=100)),
                ('registered_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'persisted_documents', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A GraphQL document registered under its id, "sha256:" and the hex SHA-256 of its text'},
            bases=['Model'],
        ),
    ]
