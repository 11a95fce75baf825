"""Our settings with Channels Redis' pub/sub layer instead of the list-based one (BENCH_BACKENDS=
postgres-redis-pubsub): the hub's one membership per process maps onto one Redis SUBSCRIBE."""

from backend.settings import *  # noqa: F403
from backend.settings import REDIS_URL

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_connect_timeout": 5}]},
    }
}
