package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.redis.RedisSessionStorage;
import io.sessionbuddy.redis.RedisTestServer;
import java.time.Duration;
import java.util.Arrays;

/**
 * The near cache's staleness window (issue #18): two storages stand for two instances, each with
 * its own client; instance A replaces a session that instance B holds in its near cache, and the
 * time from A's acknowledged write to B having dropped its copy (the invalidation processed) is
 * measured, {@code writes} times, on a real local redis-server. Prints p50, p99 and max in µs.
 * The measuring thread polls B's counters every 10 µs, parked in between, so the figures are
 * upper bounds by that step (and by the wake-up latency of a parked thread).
 */
public final class NearCacheStaleness {
    private NearCacheStaleness() {
    }

    /** Entry point: {@code [writes]} (default 2,000). */
    public static void main(String[] args) {
        int writes = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
        RedisTestServer server = BenchServers.redis();
        RedisClient clientA = RedisClient.create();
        RedisClient clientB = RedisClient.create();
        try (RedisSessionStorage a = RedisSessionStorage.builder().client(clientA).uri(server.uri()).namespace("stale")
                .nearCache(1_000, Duration.ofMinutes(1)).build();
                RedisSessionStorage b = RedisSessionStorage.builder().client(clientB).uri(server.uri())
                        .namespace("stale").nearCache(1_000, Duration.ofMinutes(1)).build()) {
            SessionState state = SessionPayloads.session("stale", "user", "project", 1024, 7).toBuilder()
                    .version(1).build();
            a.storeSession(state, null).join();
            long[] windows = new long[writes];
            int warmUp = Math.min(500, writes / 4);
            for (int i = -warmUp; i < writes; i++) {
                long version = state.version();
                // b holds the current version in its near cache
                while (b.retrieveSession("stale").join().orElseThrow().version() != version
                        || !heldBy(b)) {
                    java.util.concurrent.locks.LockSupport.parkNanos(10_000);
                }
                long invalidations = b.nearCacheStats().orElseThrow().invalidations();
                state = state.toBuilder().version(version + 1).build();
                if (!a.replaceSession(state, version, null).join()) {
                    throw new IllegalStateException("lost a compare-and-set to nobody");
                }
                long acknowledged = System.nanoTime();
                while (b.nearCacheStats().orElseThrow().invalidations() == invalidations) {
                    // parked, not spinning: on a small machine a spinning thread would take the core
                    // that B's event loop or redis-server needs, and measure itself
                    java.util.concurrent.locks.LockSupport.parkNanos(10_000);
                }
                if (i >= 0) {
                    windows[i] = Math.max(0, System.nanoTime() - acknowledged);
                }
            }
            Arrays.sort(windows);
            System.out.printf("near cache staleness window (A's acknowledged write → B's copy dropped), %,d writes:"
                    + " p50 %,d µs, p99 %,d µs, max %,d µs%n", writes, windows[writes / 2] / 1_000,
                    windows[(int) Math.min(writes - 1, Math.round(writes * 0.99))] / 1_000, windows[writes - 1] / 1_000);
        } finally {
            clientA.shutdown();
            clientB.shutdown();
            BenchServers.stop();
        }
    }

    /** Whether b's last read was served from its near cache (a second read right after hits). */
    private static boolean heldBy(RedisSessionStorage b) {
        long hits = b.nearCacheStats().orElseThrow().hits();
        b.retrieveSession("stale").join();
        return b.nearCacheStats().orElseThrow().hits() > hits;
    }
}
