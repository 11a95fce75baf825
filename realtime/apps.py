from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self):
        from realtime import receivers, registry

        registry.discover()
        receivers.connect()
