"""A fresh interpreter, for what one test process cannot do twice: import the settings from
another environment, or start Django against services it cannot reach."""

import json
import subprocess
import sys

from django.conf import settings

from harness.processes import environment


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Runs `code` in the project's interpreter with `env` over a settings-free environment
    (coverage follows the child through the rest of it)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment(**env),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def json_output(result: subprocess.CompletedProcess):
    """The JSON document the child printed last; fails with its stderr if it did not finish."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])
