"""Background jobs: work a user starts over REST and follows live over the socket.

A `Job` row (api.models) is the job as its owner sees it; a task of Django's task framework
(`tasks.run_job`, queued in the database by django-tasks-db) runs it. `runner` drives a run and
its progress, `reaper` finds runs whose worker died, `embedded` runs jobs inside the web
process when there is no Redis, and each kind of job is a function (`imports.import_foos`).
"""
