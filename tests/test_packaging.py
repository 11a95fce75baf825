"""pyproject.toml, requirements.txt and requirements.lock: what `make lock` and a Procfile
platform read."""

import importlib.metadata
import importlib.util
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.processes import json_output, run_python

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(name: str) -> dict[str, str]:
    """{canonical name: version} of a requirements file written by `make lock`."""
    lines = (ROOT / name).read_text().splitlines()
    return {
        canonicalize_name(package): version
        for package, version in (line.split("==") for line in lines if line)
    }


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def closure(requirements: list[str]) -> set[str]:
    """Every distribution that installing `requirements` pulls in, read from the metadata of
    the installed ones (extras and environment markers evaluated as pip does)."""
    found, pending = set(), [Requirement(line) for line in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found.add(name)
        for line in importlib.metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            if dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in requirement.extras or {""}
            ):
                pending.append(dependency)
    return found


@pytest.mark.skipif(
    importlib.util.find_spec("setuptools") is None,
    reason="needs setuptools in the virtualenv (Python 3.11's venv has it)",
)
def test_setuptools_finds_the_three_packages_and_all_their_subpackages():
    """`pip install .` (which `make lock` runs) stops at "Multiple top-level packages discovered
    in a flat-layout" unless pyproject.toml says which directories are the project."""
    result = run_python(
        "import json, warnings; from setuptools.dist import Distribution; "
        "warnings.simplefilter('ignore'); "
        "dist = Distribution(); dist.parse_config_files(); dist.set_defaults(); "
        "print(json.dumps(dist.packages))"
    )

    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("backend", "api", "realtime")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert set(json_output(result)) == on_disk
    assert {"api.views", "api.management.commands", "api.migrations"} <= on_disk


def test_the_build_backend_is_pinned():
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]

    assert build["build-backend"] == "setuptools.build_meta"
    (setuptools,) = (Requirement(line) for line in build["requires"])
    assert setuptools.name == "setuptools"
    assert [spec.operator for spec in setuptools.specifier] == ["=="]


def test_requirements_txt_is_the_runtime_dependencies_pinned_as_in_the_lock():
    runtime, lock = pins("requirements.txt"), pins("requirements.lock")

    assert set(runtime) == closure(PROJECT["dependencies"])
    assert {name: lock.get(name) for name in runtime} == runtime


def test_requirements_txt_holds_no_dev_tool():
    runtime, lock = pins("requirements.txt"), pins("requirements.lock")
    dev = names(PROJECT["optional-dependencies"]["dev"])

    assert dev <= set(lock)
    assert not dev & set(runtime)


def test_the_lock_is_what_pyproject_pins_and_all_they_pull_in():
    lock = pins("requirements.lock")
    direct = PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]

    assert {name: f"=={lock[name]}" for name in names(direct)} == {
        canonicalize_name(Requirement(line).name): str(Requirement(line).specifier)
        for line in direct
    }
    assert set(lock) == closure(direct)
