"""Our settings with Channels Redis' pub/sub layer instead of the list-based one (BENCH_BACKENDS=
postgres-redis-pubsub): the hub's one membership per process maps onto one Redis SUBSCRIBE. Same
Redis hosts as ours, taken from its settings."""

from backend.settings import *  # noqa: F403
from backend.settings import CHANNEL_LAYERS as LIST_LAYERS

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [
                {"address": host["address"], "socket_connect_timeout": 5}
                for host in LIST_LAYERS["default"]["CONFIG"]["hosts"]
            ]
        },
    }
}
