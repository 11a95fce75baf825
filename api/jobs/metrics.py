"""Jobs in Prometheus' terms, read from the database at each scrape (a collector, not counters:
the queue is a table that every process shares, so every process reports the same figures)."""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from api.models import Job
from api.views.health import oldest_queued_job_age


class JobsCollector(Collector):
    def describe(self):
        """The metrics' names, without a query: registering at start-up must not need the
        database."""
        return self.families()

    def collect(self):
        by_state, queue_age = self.families()
        counts = dict(Job.objects.order_by().values_list("state").annotate(Count("pk")))
        for state in Job.State:
            by_state.add_metric([state.value], counts.get(state.value, 0))
        queue_age.add_metric([], oldest_queued_job_age() or 0)
        return [by_state, queue_age]

    def families(self):
        return [
            GaugeMetricFamily("jobs", "Jobs by state.", labels=["state"]),
            GaugeMetricFamily(
                "jobs_oldest_queued_age_seconds",
                "Seconds the oldest job due to run has waited for a worker (0: none waits). "
                "Growing without bound, no worker is taking jobs.",
            ),
        ]
