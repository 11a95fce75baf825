"""`database_sync_to_async` for the sockets, keeping the thread's SQLite connection between hops.

Channels' `database_sync_to_async` closes the database connections on both sides of its hop, as
CONN_MAX_AGE = 0 asks. A socket's hops all run on asgiref's one shared thread (thread-sensitive,
outside any request), so on SQLite each hop reopened and set up the file: about half of the
hop. That thread keeps its SQLite connection instead (bench, connect: 4.2 ms of server CPU per
socket rather than 5.35), closed as Django closes a persistent one: when it is left in a
transaction or an error made it unusable. HTTP requests each run in a thread of their own and
still close theirs after the request, as Django advises under ASGI.

PostgreSQL's connections come from the psycopg pool, whose checkout the bench does not tell
from a held connection (5.05-5.3 ms per connect either way): they go back to the pool after
each hop, as before, rather than be held by the thread, where one that died between two hops
would fail the next hop's health check round trip or its query.
"""

from asgiref.sync import SyncToAsync
from django.db import close_old_connections, connections


class DatabaseSyncToAsync(SyncToAsync):
    def thread_handler(self, loop, *args, **kwargs):
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            for connection in connections.all(initialized_only=True):
                if connection.vendor == "sqlite":
                    # Opened with CONN_MAX_AGE's deadline, now; kept unless unusable.
                    connection.close_at = None
            close_old_connections()


database_sync_to_async = DatabaseSyncToAsync
