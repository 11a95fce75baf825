"""System checks of the `api` app: what would otherwise fail only when a job runs."""

from django.core import checks
from django.utils.module_loading import import_string

from api.jobs.runner import KINDS


@checks.register("jobs")
def check_job_kinds(app_configs=None, **kwargs):
    """Every job kind names a function that imports."""
    for kind, path in KINDS.items():
        try:
            import_string(path)
        except ImportError as error:
            yield checks.Error(
                f"Job kind {kind!r} names a function that does not import: {error}",
                hint="Point it in api.jobs.runner.KINDS at the function that does the job, by "
                "dotted path: `api.jobs.<module>.<function>`.",
                id="api.E001",
            )
