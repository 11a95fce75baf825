"""The servers' ERROR lines in the report (bench/run.py's `logged_errors`): a run whose servers
failed sockets or requests says so, whatever its figures."""

from bench import report
from bench.run import logged_errors

CRASH = (
    "2026-12-03 10:00:25,770 ERROR daphne.server: Exception inside application: Too many "
    "connections"
)


def test_each_servers_error_lines_are_counted_with_their_distinct_messages(tmp_path):
    (tmp_path / "ours-postgres-redis.log").write_text(
        "\n".join(
            [
                "2026-12-03 10:00:20,001 INFO daphne.server: Listening on TCP address 127.0.0.1",
                CRASH,
                "Traceback (most recent call last):",
                CRASH.replace("25,770", "25,775"),
                "2026-12-03 10:00:26,000 ERROR django.request: Internal Server Error: /api/foo",
            ]
        )
    )
    (tmp_path / "floor-fanout.log").write_text("2026-12-03 10:00:20 WARNING a warning\n")
    # The Node client's log is the client's, not a server's.
    (tmp_path / "client-ours-postgres-redis.log").write_text(CRASH)

    found = logged_errors(tmp_path)

    assert found == {
        "ours-postgres-redis.log": {
            "count": 3,
            "first": [
                "daphne.server: Exception inside application: Too many connections",
                "django.request: Internal Server Error: /api/foo",
            ],
        }
    }
    [note] = report.anomalies({"targets": {}, "server_errors": found})
    assert note == (
        "ours-postgres-redis.log: 3 ERROR line(s) logged, such as: daphne.server: Exception "
        "inside application: Too many connections; django.request: Internal Server Error: "
        "/api/foo"
    )


def test_clean_logs_report_nothing(tmp_path):
    (tmp_path / "ours-sqlite-memory.log").write_text("2026-12-03 10:00:20 INFO started\n")

    assert logged_errors(tmp_path) == {}
    assert report.anomalies({"targets": {}, "server_errors": {}}) == []
