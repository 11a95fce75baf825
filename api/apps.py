from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from prometheus_client import REGISTRY

        from api import checks, tokens  # noqa: F401 (importing checks registers them)
        from api.jobs.metrics import JobsCollector

        REGISTRY.register(JobsCollector())
        tokens.connect()
