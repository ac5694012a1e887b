from tortoise import migrations
from tortoise.migrations import operations as ops
from kepuri.db import AlterFieldState
from models.enums import NotificationKind
from models.fields import UtcDatetimeField
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    """Science routes (科普路线), their stops (activities or venues) and completions; a notification kind for a
    completed route (the column's description only: the state alone, see 0019)."""

    dependencies = [('models', '0020_activity_places')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ScienceRoute',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('region', fields.ForeignKeyField('models.Region', source_field='region_id', db_constraint=True, to_field='code', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('province_code', fields.CharField(max_length=6)),
                ('prefecture_code', fields.CharField(null=True, max_length=6)),
                ('name', fields.CharField(max_length=100)),
                ('description', fields.TextField(unique=False)),
                ('valid_from', fields.DateField()),
                ('valid_until', fields.DateField()),
                ('completions', fields.IntField(default=0)),
                ('published_by', fields.ForeignKeyField('models.User', source_field='published_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', UtcDatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'science_routes', 'app': 'models', 'indexes': [Index(fields=['province_code', 'id'], name='routes_province'), Index(fields=['prefecture_code', 'id'], name='routes_prefecture'), Index(fields=['region_id', 'id'], name='routes_region')], 'pk_attr': 'id', 'table_description': 'A route an association published for its region, open from one day to another (China'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RouteCompletion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('route', fields.ForeignKeyField('models.ScienceRoute', source_field='route_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('completed_at', UtcDatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'route_completions', 'app': 'models', 'unique_together': (('route', 'user'),), 'indexes': [Index(fields=['user_id', 'id'], name='route_completions_user')], 'pk_attr': 'id', 'table_description': 'A person who checked in at every stop of a route within its window (once per route).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RouteStop',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('route', fields.ForeignKeyField('models.ScienceRoute', source_field='route_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('venue', fields.ForeignKeyField('models.Organization', source_field='venue_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('position', fields.SmallIntField()),
            ],
            options={'table': 'route_stops', 'app': 'models', 'unique_together': (('route', 'position'), ('route', 'activity'), ('route', 'venue')), 'indexes': [Index(fields=['activity_id'], name='route_stops_activity'), Index(fields=['venue_id'], name='route_stops_venue')], 'pk_attr': 'id', 'table_description': 'The n-th stop of a route: an activity, or a venue (a unit that hosts often), visited by'},
            bases=['Model'],
        ),
        AlterFieldState(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='ACTIVITY_APPROVED: ACTIVITY_APPROVED\nACTIVITY_REJECTED: ACTIVITY_REJECTED\nDOCUMENT_READY: DOCUMENT_READY\nDEADLINE_REMINDER: DEADLINE_REMINDER\nREVIEW_REMINDER: REVIEW_REMINDER\nREVIEW_ESCALATED: REVIEW_ESCALATED\nRECOMMENDED: RECOMMENDED\nCOMMENDED: COMMENDED\nCERTIFICATE_READY: CERTIFICATE_READY\nINVITED: INVITED\nENGAGEMENT_FLAGGED: ENGAGEMENT_FLAGGED\nENGAGEMENT_RESOLVED: ENGAGEMENT_RESOLVED\nROUTE_COMPLETED: ROUTE_COMPLETED', enum_type=NotificationKind, max_length=24),
        ),
    ]
