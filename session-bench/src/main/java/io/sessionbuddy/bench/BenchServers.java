package io.sessionbuddy.bench;

import io.sessionbuddy.redis.RedisTestServer;
import java.net.URI;

/**
 * The real servers the benchmarks talk to, started once per benchmark JVM on free loopback ports
 * and stopped when it exits: a {@code redis-server} (the binary bundled by embedded-redis) and
 * S3Proxy with its in-memory store (reached directly, without the tests' write-serialising front),
 * each a process of its own ({@link S3ServerProcess}: so that the benchmark JVM's CPU and
 * allocation are the client's only). Benchmarks call {@link #stop()} in their trial tear-down.
 */
final class BenchServers {
    private static RedisTestServer redis;
    private static S3ServerProcess s3;

    private BenchServers() {
    }

    static synchronized RedisTestServer redis() {
        if (redis == null) {
            redis = RedisTestServer.start();
        }
        return redis;
    }

    /** The S3 endpoint; the bucket {@code bench} exists. */
    static synchronized URI s3() {
        if (s3 == null) {
            s3 = S3ServerProcess.start();
        }
        return s3.endpoint();
    }

    /** Stops whatever was started. */
    static synchronized void stop() {
        if (redis != null) {
            redis.close();
            redis = null;
        }
        if (s3 != null) {
            s3.close();
            s3 = null;
        }
    }
}
