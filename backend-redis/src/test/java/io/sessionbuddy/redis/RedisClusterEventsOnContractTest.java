package io.sessionbuddy.redis;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
import java.time.Clock;

/**
 * The contract against a real 3-master Redis Cluster with the event streams on: the writes that
 * append to their slot's stream and ring the bell behave as without.
 */
class RedisClusterEventsOnContractTest extends RedisClusterSessionStorageTest {
    @Override
    protected SessionStorage reopenStorage(Clock clock, StoredFormat format) {
        return RedisSessionStorage.builder().clusterClient(client()).namespace(namespace()).clock(clock)
                .storedFormat(format).eventStream(true, 1_000).build();
    }
}
