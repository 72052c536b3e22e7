"""Gunicorn settings for the web process (docker-compose runs `gunicorn -c gunicorn.conf.py`).

The access and error logs mask the secrets of emailed links (every route with a
`<token>` or `<uidb64>` parameter: `/reactivate/<token>/`, `/s/<slug>/sign-in/<token>/`,
`/password-reset/<uidb64>/<token>/`, …; config/log_masking.py): anyone who can read
logs must not be able to use them.
Command-line options override these values.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
logger_class = "config.gunicorn_logging.MaskingLogger"
