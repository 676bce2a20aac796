package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.memory.MemorySessionStorage;
import io.sessionbuddy.redis.RedisSessionStorage;

/** Storages by backend name for the benchmarks that run on several backends. */
final class Stores {
    private Stores() {
    }

    /** A fresh, empty store; {@code client} is used for redis (and must be shut down by the caller). */
    static SessionStorage open(String backend, String namespace, RedisClient client) {
        return switch (backend) {
            case "memory" -> MemorySessionStorage.builder().maximumSize(1_000_000).build();
            case "redis" -> RedisSessionStorage.builder().client(client).uri(BenchServers.redis().uri())
                    .namespace(namespace).build();
            default -> throw new IllegalArgumentException("unknown backend " + backend);
        };
    }
}
