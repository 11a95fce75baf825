"""Messages handed to a consumer's handlers without a thread hop in front of each.

Channels (4.2 on) closes the process's old database connections before every handler, in a hop
to the one thread that runs sync code (`aclose_old_connections`): a socket that connects and
subscribes waits twice in that thread's queue before anything of its own runs, behind whatever
else is queued there, in a reconnect storm the other sockets' reads. Our consumers reach the
database only through `database_sync_to_async`, which closes old connections on both sides of
its own hop, so these close nothing that it does not. (The close after a disconnect stays.)
"""

from channels.consumer import get_handler_name


class DirectDispatch:
    """For an `AsyncConsumer` whose database work goes through `database_sync_to_async`."""

    async def dispatch(self, message):
        await getattr(self, get_handler_name(message))(message)
