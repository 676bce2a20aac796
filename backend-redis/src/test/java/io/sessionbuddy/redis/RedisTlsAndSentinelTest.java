package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.spi.BackendSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TLS and Sentinel against real servers the test starts: certificates made here, a real failover. */
class RedisTlsAndSentinelTest {
    private static final String PASSWORD = "Tls-Passw0rd-canary";

    @TempDir
    Path directory;

    private static SessionStorage open(Map<String, Object> settings) {
        return new RedisStorageProvider().create(BackendSettings.of("redis", settings));
    }

    private static SessionState session(String id) {
        return SessionState.builder(id, "tls-user", "p").createdAt(Instant.parse("2024-01-01T00:00:00Z")).build();
    }

    @Test
    @Timeout(120)
    void tlsWorksWithTheRightCaAndAWrongCaFailsClearlyWithoutThePassword() throws Exception {
        TestCertificates right = TestCertificates.create(directory, "right");
        TestCertificates wrong = TestCertificates.create(directory, "wrong");
        try (RedisTestServer tls = RedisTestServer.startTls(right.serverCertPem, right.serverKeyPem, right.caPem,
                "--requirepass", PASSWORD)) {
            Map<String, Object> settings = new HashMap<>(Map.of("host", "127.0.0.1", "port", tls.port(), "ssl", true,
                    "password", PASSWORD, "namespace", "tls", "timeout", "3s"));
            settings.put("ca_file", right.caPem.toString());
            try (SessionStorage storage = open(settings)) {
                storage.storeSession(session("over-tls"), null).join();
                assertThat(storage.retrieveSession("over-tls").join()).isPresent();
                assertThat(storage.isAvailable().join()).isTrue();
            }

            settings.put("ca_file", wrong.caPem.toString());
            Throwable refused = catchThrowable(() -> open(settings).close());
            assertThat(refused).isInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("rediss://127.0.0.1:" + tls.port())
                    .hasMessageNotContaining(PASSWORD);
            assertThat(String.valueOf(refused.getCause())).doesNotContain(PASSWORD);
        }
    }

    @Test
    @Timeout(180)
    void aSentinelFailoverInTheMiddleOfUpdatesLosesNoAcknowledgedWrite() throws Exception {
        try (RedisTestServer master = RedisTestServer.start();
                RedisTestServer replica = RedisTestServer.start("--replicaof", "127.0.0.1",
                        Integer.toString(master.port()));
                RedisTestServer sentinel = RedisTestServer.startSentinel(master.port())) {
            waitUntil(() -> replica.<String>withCommands(c -> c.info("replication"))
                    .contains("master_link_status:up"), "the replica to sync");
            waitUntil(() -> sentinelSees(sentinel, 1), "the sentinel to discover the replica");

            try (SessionStorage storage = open(Map.of("uri", "redis-sentinel://127.0.0.1:" + sentinel.port()
                    + "#mymaster", "namespace", "failover", "timeout", "1s", "wait_for_replicas", 1))) {
                SessionManager manager = new SessionManager(storage);
                String id = manager.createSession("u", "p", Map.of("count", 0), null).join();
                AtomicInteger acknowledged = new AtomicInteger();
                AtomicInteger failed = new AtomicInteger();
                AtomicInteger afterFailover = new AtomicInteger();
                AtomicBoolean failedOver = new AtomicBoolean();
                List<Throwable> untyped = java.util.Collections.synchronizedList(new ArrayList<>());
                ExecutorService writers = Executors.newFixedThreadPool(2);
                List<Future<?>> done = new ArrayList<>();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                for (int t = 0; t < 2; t++) {
                    done.add(writers.submit(() -> {
                        while (afterFailover.get() < 20 && System.nanoTime() < end) {
                            try {
                                if (manager.updateSession(id, s -> s.toBuilder().metadata(Map.of("count",
                                        s.metadata().get("count").asInt() + 1)).build()).join().isEmpty()) {
                                    throw new AssertionError("the session vanished");
                                }
                                acknowledged.incrementAndGet();
                                if (failedOver.get()) {
                                    afterFailover.incrementAndGet();
                                }
                            } catch (CompletionException e) {
                                failed.incrementAndGet();
                                if (!(e.getCause() instanceof SessionStorageException)) {
                                    untyped.add(e.getCause());
                                }
                                RedisTestServer.sleep(50);
                            }
                        }
                        return null;
                    }));
                }
                waitUntil(() -> acknowledged.get() >= 50, "50 updates before the failover");
                master.stop(); // kill -9 in the middle of the updates
                waitUntil(() -> masterPort(sentinel) == replica.port(), "the sentinel to promote the replica");
                failedOver.set(true);
                // a new replica of the new master, so that writes can again be confirmed by one
                // (wait_for_replicas: 1). Not the old master restarted: without persistence it would
                // come back empty, as a master, until the sentinel demotes it.
                try (RedisTestServer newReplica = RedisTestServer.start("--replicaof", "127.0.0.1",
                        Integer.toString(replica.port()))) {
                    for (Future<?> future : done) {
                        future.get(120, TimeUnit.SECONDS);
                    }
                }
                writers.shutdown();

                assertThat(failed.get()).as("calls that failed (typed) during the switch").isPositive();
                assertThat(untyped).as("failures that are not SessionStorageException").isEmpty();
                assertThat(afterFailover.get()).as("updates after the failover, without reopening").isGreaterThanOrEqualTo(20);
                int count = storage.retrieveSession(id).join().orElseThrow().metadata().get("count").asInt();
                assertThat(count).as("no acknowledged update lost").isGreaterThanOrEqualTo(acknowledged.get());
                assertThat(count).as("none applied twice").isLessThanOrEqualTo(acknowledged.get() + failed.get());
            }
        }
    }

    private static boolean sentinelSees(RedisTestServer sentinel, int replicas) {
        RedisClient client = RedisClient.create(RedisURI.create("redis://127.0.0.1:" + sentinel.port()));
        try (var connection = client.connectSentinel()) {
            return connection.sync().replicas("mymaster").stream()
                    .filter(r -> !String.valueOf(r.get("flags")).contains("down")).count() >= replicas;
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    private static int masterPort(RedisTestServer sentinel) {
        RedisClient client = RedisClient.create(RedisURI.create("redis://127.0.0.1:" + sentinel.port()));
        try (var connection = client.connectSentinel()) {
            return ((java.net.InetSocketAddress) connection.sync().getMasterAddrByName("mymaster")).getPort();
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException e) {
                // not yet
            }
            RedisTestServer.sleep(100);
        }
        throw new AssertionError("timed out waiting for " + what);
    }
}
