import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

from core.security import require_serving_secrets  # noqa: E402  (needs settings)

require_serving_secrets()
