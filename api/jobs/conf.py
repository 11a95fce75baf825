"""The jobs' options: `settings.JOBS` over these defaults (README lists the JOBS_* variables)."""

from realtime.conf import Options

DEFAULTS = {
    # Run jobs in the web process (backend/asgi.py). settings.py turns it on without Redis.
    "EMBEDDED_WORKER": False,
    # Progress saves, and so UPDATE_JOB events, per second and job; state changes always save.
    "PROGRESS_RATE": 4.0,
    # Seconds without a heartbeat after which a running job's worker is taken for dead. A job
    # must report progress more often than this.
    "HEARTBEAT_TIMEOUT": 60.0,
    # Seconds between two looks for dead jobs, in each worker process.
    "REAP_INTERVAL": 15.0,
    # Runs a job gets: a dead job is requeued while it has attempts left, failed after.
    "MAX_ATTEMPTS": 1,
    # Foos created per INSERT by an import.
    "IMPORT_BATCH_SIZE": 1000,
}

jobs_setting = Options("JOBS", DEFAULTS)
