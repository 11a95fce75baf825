"""`python -m harness.daphne [--port PORT] [--log FILE]`: the project's Daphne, started through
the launcher the Python tests and the benchmark use, for a caller in another language
(tests/e2e/support/backend.js).

Once /api/health answers it prints `{"port": ..., "pid": ...}` (the pid is Daphne's own: kill
it to crash the server; this process then exits too), and serves until SIGTERM or SIGINT, which
stop Daphne. The server's environment is this process's: the caller sets the settings.
"""

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from harness.processes import Server, daphne_command, free_port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help="default: a free one")
    parser.add_argument("--log", type=Path, help="Daphne's output, appended (default: discarded)")
    args = parser.parse_args(argv)
    port = args.port or free_port()
    server = Server("daphne", daphne_command(port), dict(os.environ), port, args.log)
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"port": port, "pid": server.process.pid}), flush=True)
    try:
        return server.process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
