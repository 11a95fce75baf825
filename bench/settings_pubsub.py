"""Our settings with Channels Redis' pub/sub layer instead of the list-based one (BENCH_BACKENDS=
postgres-redis-pubsub): the hub's one membership per process maps onto one Redis SUBSCRIBE."""

from channels_redis.pubsub import RedisPubSubChannelLayer

from backend.settings import *  # noqa: F403
from backend.settings import REDIS_URL


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """The pub/sub layer, answering what `realtime.hub` asks of a layer: a membership is a
    SUBSCRIBE, which does not expire and which the layer itself renews on reconnection, and a
    message is published, never dropped for capacity."""

    group_expiry = float("inf")

    async def memberships_kept(self, channel):
        return True

    async def missed_groups(self, channel):
        return set()


CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "bench.settings_pubsub.PubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_connect_timeout": 5}]},
    }
}
