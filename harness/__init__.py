"""What the tests and the benchmark share to run the project's own processes: one launcher for a
server that answers /api/health, and one clean environment for every child process.

Not production code: pyproject.toml's packages leave it out. It sits at the top level, beside
`tests/` and `bench/`, because both import it and neither should import the other.
"""
