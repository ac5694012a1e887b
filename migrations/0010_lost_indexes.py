from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Put back the index that 0002 lost on SQLite (Tortoise remade the table for an AlterField and
    dropped its indexes; see kepuri.db.AlterFieldState). PostgreSQL kept it: IF NOT EXISTS makes
    this a no-op there."""

    dependencies = [('models', '0009_commendations')]

    initial = False

    operations = [
        ops.RunSQL(
            'CREATE INDEX IF NOT EXISTS "codes_phone_purpose" '
            'ON "verification_codes" ("phone", "purpose", "created_at")'
        ),
    ]
