import threading

from django_tasks_db.management.commands import db_worker

from api.jobs.reaper import reap_forever


class Command(db_worker.Command):
    help = (
        "Run a database background worker (django-tasks-db's), which also reaps jobs whose "
        "worker died (see api.jobs.reaper)."
    )

    def handle(self, *args, **options):
        stop = threading.Event()
        threading.Thread(target=reap_forever, args=[stop], name="jobs-reaper", daemon=True).start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
