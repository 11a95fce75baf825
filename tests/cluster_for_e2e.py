"""`python -m tests.cluster_for_e2e`: the cluster the Python tests hold (tests/servers.py's
Cluster: HAProxy with deploy/haproxy.cfg in front of three Daphne processes, and a worker), for
the browser test (tests/e2e/support/cluster.js), which cannot import it.

It runs on DATABASE_URL's PostgreSQL server, in a database of its own that it creates and
migrates first and drops at the end (`e2e_<name>`: never the suite's `test_<name>`), and on
REDIS_URL. Once the load balancer answers from all three web processes, it prints one JSON line:
the load balancer's URL, the database's (for `manage.py shell`) and each web process's pid by the
name X-Served-By gives it (web1..web3), to kill it. It serves until its stdin closes (its caller is
done, or gone), then stops them all. Anything else the processes print goes to stderr.
"""

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection

    from tests.servers import Cluster, database_url

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        sys.exit("The cluster needs DATABASE_URL (PostgreSQL) and REDIS_URL.")
    # The children inherit stdout: the ready line alone goes to the real one.
    ready = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"e2e_{name}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        cluster = Cluster()
        try:
            names = (f"web{number}" for number in range(1, len(cluster.webs) + 1))
            webs = {name: web.process.pid for name, web in zip(names, cluster.webs, strict=True)}
            ready.write(
                json.dumps({"url": cluster.lb.url, "database_url": database_url(), "webs": webs})
            )
            ready.write("\n")
            ready.flush()
            sys.stdin.read()
        finally:
            cluster.stop()
    finally:
        # Neither this process's connection nor its pool may keep the database from being dropped.
        connection.close()
        connection.close_pool()
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
