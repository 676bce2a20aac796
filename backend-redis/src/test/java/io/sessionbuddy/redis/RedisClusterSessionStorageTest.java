package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.testkit.RawRecords;
import io.lettuce.core.cluster.SlotHash;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.testkit.BytesSessionStorageContract;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The contract against a real 3-master Redis Cluster. */
class RedisClusterSessionStorageTest extends BytesSessionStorageContract {
    private static final AtomicInteger NAMESPACES = new AtomicInteger();
    private static RedisTestCluster cluster;
    private static RedisClusterClient client;
    private static StatefulRedisClusterConnection<byte[], byte[]> raw;
    private String namespace;

    @BeforeAll
    static void startCluster() {
        cluster = RedisTestCluster.start();
        client = RedisClusterClient.create(cluster.seeds());
        raw = client.connect(ByteArrayCodec.INSTANCE);
    }

    @AfterAll
    static void stopCluster() {
        raw.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        cluster.close();
    }

    @Override
    protected SessionStorage createStorage(Clock clock, StoredFormat format) {
        namespace = "cluster" + NAMESPACES.incrementAndGet();
        return reopenStorage(clock, format);
    }

    @Override
    protected SessionStorage reopenStorage(Clock clock, StoredFormat format) {
        return RedisSessionStorage.builder().clusterClient(client)
                .namespace(namespace).clock(clock).storedFormat(format).build();
    }

    static RedisClusterClient client() {
        return client;
    }

    String namespace() {
        return namespace;
    }

    @Override
    protected RawRecords rawRecords() {
        return new RedisRawRecords(raw.sync(), namespace);
    }

    @Override
    protected boolean serverOwnsTime() {
        return true;
    }

    @Test
    void sessionsAndIndexesSpreadOverSeveralSlotsAndStillList() {
        Set<Integer> slots = new HashSet<>();
        for (int i = 0; i < 30; i++) {
            SessionState state = session("spread-" + i, "user-" + (i % 3), "project");
            await(storage.storeSession(state, null));
            slots.add(SlotHash.getSlot("x:{" + state.sessionId() + "}"));
        }

        assertThat(((RedisSessionStorage) storage).isCluster()).isTrue();
        assertThat(slots.stream().map(slot -> slot * 3 / 16384).distinct()).as("masters used").hasSize(3);
        assertThat(await(storage.listSessions(null, "project"))).hasSize(30);
        assertThat(await(storage.listSessions("user-1", null))).hasSize(10);
        assertThat(await(storage.listSessions(null, null))).hasSize(30);
    }
}
