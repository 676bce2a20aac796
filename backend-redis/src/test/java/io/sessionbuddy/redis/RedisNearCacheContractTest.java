package io.sessionbuddy.redis;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
import java.time.Clock;
import java.time.Duration;

/**
 * The whole contract again with the near cache on: a storage that serves reads from its own
 * copies behaves, to its caller, exactly as one that reads Redis every time.
 */
class RedisNearCacheContractTest extends RedisSessionStorageTest {
    @Override
    protected SessionStorage reopenStorage(Clock clock, StoredFormat format) {
        RedisSessionStorage storage = RedisSessionStorage.builder().client(nearCacheClient()).uri(server().uri())
                .namespace(currentNamespace()).clock(clock).storedFormat(format)
                .nearCache(1_000, Duration.ofMinutes(1)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!storage.nearCacheStats().orElseThrow().active()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("client tracking was not acknowledged");
            }
            Thread.onSpinWait();
        }
        return storage;
    }
}
