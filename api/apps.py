from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from api import checks, tokens  # noqa: F401 (importing checks registers them)

        tokens.connect()
