from tortoise import migrations
from tortoise.migrations import operations as ops
from kepuri.db import AlterFieldState
from models.enums import VerificationPurpose
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        AlterFieldState(
            model_name='VerificationCode',
            name='purpose',
            field=fields.CharEnumField(description='REGISTER: REGISTER\nLOGIN: LOGIN\nRESET_PASSWORD: RESET_PASSWORD', enum_type=VerificationPurpose, max_length=20),
        ),
    ]
