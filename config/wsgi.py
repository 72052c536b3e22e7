import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from core.security import require_serving_secrets  # noqa: E402  (needs settings)

require_serving_secrets()
