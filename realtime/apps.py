from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self):
        from realtime import checks, receivers, registry  # noqa: F401 (importing checks registers them)

        registry.discover()
        receivers.connect()
