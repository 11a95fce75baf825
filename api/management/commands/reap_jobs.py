from django.core.management.base import BaseCommand

from api.jobs.reaper import reap


class Command(BaseCommand):
    help = (
        "Fail (or requeue, see JOBS_MAX_ATTEMPTS) running jobs whose worker stopped sending "
        "heartbeats. Workers do this on their own; this is for a cron job or by hand."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"Reaped {reap()} job(s).")
