#!/usr/bin/env python3
"""Migrates the database and creates the one confidential client of the benchmark
(client_credentials). Usage: setup_client.py CLIENT_SECRET HASH(1|0); prints the client_id.
With HASH=1 the secret is stored as Django's password hasher makes it (the toolkit's default,
hash_client_secret=True); with 0 it is stored as given and compared as text."""
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

secret, hashed = sys.argv[1], sys.argv[2] == "1"
call_command("migrate", verbosity=0)
Application.objects.filter(name="bench").delete()
app = Application.objects.create(
    name="bench",
    client_id="bench",
    client_secret=secret,
    hash_client_secret=hashed,
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
)
print(app.client_id)
