"""A minimal Django project serving django-oauth-toolkit for bench/peers.sh: the token and
introspection endpoints and one protected view, on SQLite (WAL, as flowgate runs it), with no
session, CSRF or admin machinery and no request log (gunicorn's access log is off by default)."""
import os

SECRET_KEY = "bench-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "oauth2_provider",
]
# No middleware: the token endpoint is CSRF-exempt, and the protected view authenticates the
# Bearer token itself (ProtectedResourceView), so nothing else is needed on these paths.
MIDDLEWARE = []
ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DJANGO_DB", "/tmp/flowgate-bench-django.sqlite3"),
        "OPTIONS": {
            # Two gunicorn workers write to one file: wait for the lock rather than fail, take
            # it at BEGIN (no deadlock on upgrade), and use WAL with NORMAL sync like flowgate.
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read", "write": "Write", "introspection": "Introspect tokens"},
    "DEFAULT_SCOPES": ["read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
}

LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
