import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
application = get_wsgi_application()

from governance import embedded_beat  # noqa: E402  (needs the apps loaded above)

embedded_beat.start()
