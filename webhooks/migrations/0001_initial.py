"""Outbound webhooks move from `notifications` into this app. The tables, their rows,
indexes and constraints stay exactly where they are (`db_table`): this migration only
moves the models in Django's state, and relabels their content types (so permissions and
admin history follow them)."""

import accounts.crypto
import django.db.models.deletion
import uuid
import webhooks.models
from django.db import migrations, models

MODELS = ("webhookendpoint", "webhookdelivery")


def relabel_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="notifications", model__in=MODELS).update(
        app_label="webhooks"
    )


def unrelabel_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="webhooks", model__in=MODELS).update(
        app_label="notifications"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('notifications', '0002_integrations_and_webhooks'),
        ('subscriptions', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='WebhookEndpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('url', models.URLField(max_length=2000, verbose_name='URL')),
                        ('events', models.JSONField(default=webhooks.models.default_webhook_events, verbose_name='events')),
                        ('description', models.CharField(blank=True, max_length=500, verbose_name='description')),
                        ('secret', accounts.crypto.EncryptedJSONField(blank=True, default=dict)),
                        ('is_active', models.BooleanField(default=True, verbose_name='active')),
                        ('disabled_reason', models.CharField(blank=True, max_length=300)),
                        ('failing_since', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('creator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_endpoints', to='accounts.creator')),
                    ],
                    options={
                        'db_table': 'notifications_webhookendpoint',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('event_type', models.CharField(max_length=40)),
                        ('payload', models.JSONField()),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('gave_up', 'Gave up')], default='pending', max_length=10)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('response_excerpt', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('creator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_deliveries', to='accounts.creator')),
                        ('event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='webhook_deliveries', to='subscriptions.subscriptionevent')),
                        ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.webhookendpoint')),
                    ],
                    options={
                        'db_table': 'notifications_webhookdelivery',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.AddIndex(
                    model_name='webhookendpoint',
                    index=models.Index(fields=['creator', 'is_active'], name='webhook_ep_creator_active'),
                ),
                migrations.AddIndex(
                    model_name='webhookdelivery',
                    index=models.Index(condition=models.Q(('status', 'pending')), fields=['next_attempt_at'], name='webhook_delivery_due'),
                ),
                migrations.AddIndex(
                    model_name='webhookdelivery',
                    index=models.Index(fields=['endpoint', 'created_at'], name='webhook_delivery_endpoint'),
                ),
                migrations.AddConstraint(
                    model_name='webhookdelivery',
                    constraint=models.UniqueConstraint(fields=('endpoint', 'event'), name='webhook_delivery_once'),
                ),
            ],
            database_operations=[
                migrations.RunPython(relabel_content_types, unrelabel_content_types),
            ],
        ),
    ]
