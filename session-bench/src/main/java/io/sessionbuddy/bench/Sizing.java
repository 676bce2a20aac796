package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.redis.RedisSessionStorage;
import io.sessionbuddy.redis.RedisTestServer;
import io.sessionbuddy.s3.S3SessionStorage;
import io.sessionbuddy.s3.S3TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Capacity on paper, from measurements (issue #18): fills a real local redis-server with sessions
 * of 1, 16 and 256 KiB and prints what each costs in Redis memory ({@code MEMORY USAGE} of the
 * data key, the index entries per session, {@code used_memory} per session), what a project index
 * costs per entry at 100,000 entries, and how many S3 requests each operation makes (counted by an
 * SDK interceptor against S3Proxy). Usage: {@code Sizing [sessions at 1 KiB]} (default 20,000).
 */
public final class Sizing {
    private Sizing() {
    }

    /** Entry point. */
    public static void main(String[] args) {
        int small = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        try {
            redis(small);
            s3();
        } finally {
            BenchServers.stop();
        }
    }

    private static void redis(int small) {
        RedisTestServer server = BenchServers.redis();
        RedisClient client = RedisClient.create();
        try (StatefulRedisConnection<String, String> admin = client.connect(server.uri())) {
            RedisCommands<String, String> raw = admin.sync();
            System.out.println("| session JSON | sessions | data key (`MEMORY USAGE`, mean) | index and order-set entries"
                    + " per session (user + project) | `used_memory` per session | sessions per GB of `used_memory` |");
            System.out.println("|---:|---:|---:|---:|---:|---:|");
            int[][] runs = {{1024, small}, {16_384, Math.max(100, small / 10)}, {262_144, Math.max(20, small / 100)}};
            for (int[] run : runs) {
                int size = run[0];
                int count = run[1];
                raw.flushall();
                long before = usedMemory(raw);
                String namespace = "sizing" + size;
                try (RedisSessionStorage storage = RedisSessionStorage.builder().client(client).uri(server.uri())
                        .namespace(namespace).build()) {
                    List<String> ids = new ArrayList<>();
                    for (int i = 0; i < count; i++) {
                        // 10 sessions per user, 10 projects: the shape of the listing benchmark
                        SessionState state = SessionPayloads.session("s" + size + "-" + i, "user" + (i / 10),
                                "project" + (i % 10), size, i);
                        ids.add(state.sessionId());
                        storage.storeSession(state, Duration.ofHours(24)).join();
                    }
                    long used = usedMemory(raw) - before;
                    long data = 0;
                    int sampled = Math.min(200, count);
                    for (int i = 0; i < sampled; i++) {
                        data += raw.memoryUsage(namespace + ":{" + ids.get(i * count / sampled) + "}");
                    }
                    long index = 0;
                    for (String key : raw.keys(namespace + ":idx:*")) {
                        index += raw.memoryUsage(key);
                    }
                    double perSession = (double) used / count;
                    System.out.printf("| %,d B | %,d | %,d B | %,.0f B | %,.0f B | %,.0f |%n", size, count,
                            data / sampled, (double) index / count, perSession, 1e9 / perSession);
                }
            }
            raw.flushall();
            int members = 100_000;
            List<ScoredValue<String>> batch = new ArrayList<>();
            List<ScoredValue<String>> ordered = new ArrayList<>();
            for (int i = 0; i < members; i++) {
                String id = String.format("%032x", (long) i * 2_654_435_761L);
                batch.add(ScoredValue.just(1.8e12 + i, id));
                ordered.add(ScoredValue.just(0, id));
                if (batch.size() == 10_000) {
                    raw.zadd("bigproject", batch.toArray(ScoredValue[]::new));
                    raw.zadd("bigproject-byid", ordered.toArray(ScoredValue[]::new));
                    batch.clear();
                    ordered.clear();
                }
            }
            System.out.printf("%nOne project index (a sorted set of 32-character ids scored by expiry) with %,d"
                    + " sessions: %,d B (`MEMORY USAGE`), %,.0f B per session; its order set (the same ids scored"
                    + " 0): %,d B, %,.0f B per session.%n", members, raw.memoryUsage("bigproject"),
                    raw.memoryUsage("bigproject") / (double) members, raw.memoryUsage("bigproject-byid"),
                    raw.memoryUsage("bigproject-byid") / (double) members);
            raw.flushall();
        } finally {
            client.shutdown();
        }
    }

    private static long usedMemory(RedisCommands<String, String> raw) {
        for (String line : raw.info("memory").split("\r?\n")) {
            if (line.startsWith("used_memory:")) {
                return Long.parseLong(line.substring("used_memory:".length()).trim());
            }
        }
        throw new IllegalStateException("no used_memory in INFO memory");
    }

    /** Counts each S3 request by operation name. */
    private static final class Counter implements ExecutionInterceptor {
        final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();

        @Override
        public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
            counts.computeIfAbsent(attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME),
                    name -> new AtomicLong()).incrementAndGet();
        }

        String take() {
            Map<String, Long> taken = new TreeMap<>();
            counts.forEach((name, count) -> taken.put(name, count.getAndSet(0)));
            taken.values().removeIf(count -> count == 0);
            StringBuilder text = new StringBuilder();
            taken.forEach((name, count) -> text.append(text.length() == 0 ? "" : ", ").append(count).append(' ')
                    .append(name));
            return text.length() == 0 ? "none" : text.toString();
        }
    }

    private static void s3() {
        Counter counter = new Counter();
        try (S3Client client = S3Client.builder().endpointOverride(BenchServers.s3()).forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        S3TestServer.ACCESS_KEY, S3TestServer.SECRET_KEY)))
                .httpClientBuilder(Apache5HttpClient.builder())
                .overrideConfiguration(c -> c.addExecutionInterceptor(counter)).build();
                S3SessionStorage storage = S3SessionStorage.builder(client, "bench").namespace("sizing").build()) {
            SessionManager manager = new SessionManager(storage);
            List<String> others = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                others.add(manager.createSession("s3-user", "s3-project").join());
            }
            counter.take();
            System.out.println();
            System.out.println("| S3 operation | requests (steady state, counted) |");
            System.out.println("|---|---|");
            String[] id = new String[1];
            row(counter, "createSession (a new session)", () -> id[0] = manager.createSession("s3-user", "s3-project").join());
            row(counter, "getSession", () -> manager.getSession(id[0]).join());
            row(counter, "updateSession (no conflict)", () -> manager.updateSession(id[0],
                    Map.of("metadata", Map.of("k", "v")), null).join());
            row(counter, "touch", () -> manager.touch(id[0], Duration.ofHours(2)).join());
            row(counter, "storeSession of the state just read (the read, then the store)",
                    () -> storage.storeSession(storage.retrieveSession(id[0]).join().orElseThrow(), null).join());
            row(counter, "listUserSessions (10 sessions)", () -> manager.listUserSessions("s3-user").join());
            row(counter, "listSessions, a page of 5 (a user of 10 sessions)",
                    () -> manager.listSessions("s3-user", null, null, 5).join());
            List<String> ten = new ArrayList<>(others);
            ten.add(id[0]);
            row(counter, "getSessions (10 ids)", () -> manager.getSessions(ten).join());
            row(counter, "rotateSessionId", () -> id[0] = manager.rotateSessionId(id[0]).join().orElseThrow());
            row(counter, "deleteSession", () -> manager.deleteSession(id[0]).join());
        }
    }

    private static void row(Counter counter, String what, Supplier<Object> call) {
        call.get();
        System.out.println("| " + what + " | " + counter.take() + " |");
    }
}
