"""Where state lives: database, channel layer, cache.

Defaults: SQLite and an in-memory channel layer (one process). ``DATABASE_URL`` switches to
PostgreSQL (or any dj-database-url URL); ``REDIS_URL`` switches the channel layer and cache to
Redis so that web and avatar workers can run as separate processes and hosts.
"""
import dj_database_url

from config.settings.env import VAR_DIR, env_int, env_str

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kiosk.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several async consumers and the runtime write at once: wait instead of failing on a lock.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, exactly channels_redis's 5 s
            # BZPOPMIN: on a busy host the reply lands just after it and receive() raises. Read longer.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5}],
                       "capacity": 1500, "expiry": 30},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
