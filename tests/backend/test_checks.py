"""The project passes its own system checks, which `migrate`, `runserver` and `db_worker` run."""

from io import StringIO

from django.core.management import call_command


def test_the_project_passes_its_system_checks():
    output = StringIO()
    call_command("check", stdout=output)
    assert output.getvalue() == "System check identified no issues (0 silenced).\n"
