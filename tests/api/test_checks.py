"""`manage.py check` reports a job kind that would fail only when a job of it runs."""

from django.core import checks

from api.jobs.runner import KINDS


def test_a_job_kind_whose_function_does_not_import_is_reported(monkeypatch):
    monkeypatch.setitem(KINDS, "foo.export", "api.jobs.exports.export_foos")
    [error] = checks.run_checks(tags=["jobs"])
    assert error.id == "api.E001"
    assert error.msg.startswith("Job kind 'foo.export' names a function that does not import: ")
    assert "Point it in api.jobs.runner.KINDS at the function that does the job" in error.hint
