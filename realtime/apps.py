from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self):
        from realtime import receivers, registry, sessions  # noqa: F401 (sessions: its checks)

        registry.discover()
        receivers.connect()
