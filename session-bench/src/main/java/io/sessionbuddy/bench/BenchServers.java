package io.sessionbuddy.bench;

import io.sessionbuddy.redis.RedisTestServer;
import io.sessionbuddy.s3.S3TestServer;
import java.net.URI;

/**
 * The real servers the benchmarks talk to, started once per benchmark JVM on free loopback ports
 * and stopped when it exits: a {@code redis-server} (the binary bundled by embedded-redis) and
 * S3Proxy with its in-memory store (reached directly, without the tests' write-serialising front).
 * Benchmarks call {@link #stop()} in their trial tear-down: JMH waits for non-daemon threads
 * (Jetty's) before a fork may exit.
 */
final class BenchServers {
    private static RedisTestServer redis;
    private static S3TestServer s3;

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
            s3 = S3TestServer.start();
            s3.createBucket("bench");
        }
        return s3.directEndpoint();
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
