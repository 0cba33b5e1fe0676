"""The shared backend: Redis through the asyncio client of the `redis` package.

Every key is prefixed with `altegio-mcp:` so the server can share a Redis with other software.
Set-if-absent is `SET NX PX`; get-and-delete and the token buckets are Lua scripts, which Redis
runs atomically. The bucket reads Redis's own clock (`TIME`), so replicas with skewed clocks
still share one rate. Any connection or protocol failure becomes `StateUnavailable`, after short
timeouts, so a dead Redis costs a caller about a second, not a hang.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from altegio_mcp.state import Bucket, StateUnavailable, check_buckets

T = TypeVar("T")

NAMESPACE = "altegio-mcp:"
SOCKET_TIMEOUT = 1.0

TAKE = """
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
"""

BUCKETS = """
local cost = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local capacity = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'updated')
  local tokens = tonumber(state[1])
  local updated = tonumber(state[2])
  if tokens == nil or updated == nil then
    tokens = capacity
    updated = now
  end
  local elapsed = now - updated
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(capacity, tokens + elapsed * rate)
  levels[i] = tokens
  if tokens < cost then wait = math.max(wait, (cost - tokens) / rate) end
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local capacity = tonumber(ARGV[2 * i + 1])
  local tokens = levels[i]
  if wait == 0 then tokens = tokens - cost end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'updated', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((capacity - tokens) / rate * 1000) + 1000)
end
return tostring(wait)
"""


def _ms(ttl: float) -> int:
    return max(1, math.ceil(ttl * 1000))


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisStore:
    backend = "redis"

    def __init__(self, url: str) -> None:
        self._url = url
        self._redis: aioredis.Redis | None = None

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                self._url,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                health_check_interval=30,
            )
        return self._redis

    async def _do(self, action: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        try:
            return await action(self._client())
        except (RedisError, OSError) as exc:
            raise StateUnavailable(f"Redis could not be reached ({type(exc).__name__})") from exc

    async def get(self, key: str) -> bytes | None:
        value: Any = await self._do(lambda r: r.get(NAMESPACE + key))
        return None if value is None else bytes(value)

    async def put(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        await self._do(lambda r: r.set(NAMESPACE + key, value, px=None if ttl is None else _ms(ttl)))

    async def add(self, key: str, value: bytes, *, ttl: float | None = None) -> bool:
        stored: Any = await self._do(
            lambda r: r.set(NAMESPACE + key, value, nx=True, px=None if ttl is None else _ms(ttl))
        )
        return bool(stored)

    async def take(self, key: str) -> bytes | None:
        value: Any = await self._do(lambda r: r.eval(TAKE, 1, NAMESPACE + key))  # type: ignore[misc]
        return None if value is None else bytes(value)

    async def delete(self, key: str) -> None:
        await self._do(lambda r: r.delete(NAMESPACE + key))

    async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        async def collect(r: aioredis.Redis) -> list[tuple[str, bytes]]:
            pattern = NAMESPACE + _glob_escape(prefix) + "*"
            keys: list[bytes] = []
            cursor: Any = 0
            while True:
                cursor, batch = await r.scan(cursor, match=pattern, count=500)  # pyright: ignore[reportUnknownMemberType]
                keys += cast(list[bytes], batch)
                if not cursor:
                    break
            if not keys:
                return []
            values: list[Any] = await r.mget(keys)
            found = [
                (k.decode()[len(NAMESPACE) :], bytes(v))
                for k, v in zip(keys, values, strict=True)
                if v is not None
            ]
            return sorted(found)

        return await self._do(collect)

    async def acquire(self, bucket: str, *, rate: float, capacity: float, cost: float = 1.0) -> float:
        return await self.acquire_all([Bucket(bucket, rate, capacity)], cost=cost)

    async def acquire_all(self, buckets: Sequence[Bucket], *, cost: float = 1.0) -> float:
        check_buckets(buckets)
        keys = [NAMESPACE + b.key for b in buckets]
        args = [repr(cost)] + [repr(v) for b in buckets for v in (b.rate, b.capacity)]
        wait: Any = await self._do(lambda r: r.eval(BUCKETS, len(keys), *keys, *args))  # type: ignore[misc]
        return float(wait)

    async def aclose(self) -> None:
        if self._redis is not None:
            client, self._redis = self._redis, None
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()
