package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.redis.RedisSessionStorage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A profile, not a benchmark: the Redis server's time per write script ({@code INFO commandstats},
 * {@code usec_per_call} of {@code EVALSHA}), for 20,000 stores that create sessions and 20,000 that
 * update existing ones (1 KiB, 100 users, one project, 64 in flight). Where reads and writes wait
 * on the server (many in flight, or a server shared with the JVM), this is the cost that bounds them.
 *
 * <p>Run: {@code java -cp session-bench/target/benchmarks.jar io.sessionbuddy.bench.WriteServerTime}
 * (one line per phase); run it with an older build's jar on the class path to compare.
 */
public final class WriteServerTime {
    private WriteServerTime() {
    }

    /**
     * Entry point.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        RedisClient client = RedisClient.create(BenchServers.redis().uri());
        var out = new java.io.PrintStream(System.out, true, java.nio.charset.StandardCharsets.UTF_8);
        try (StatefulRedisConnection<String, String> admin = client.connect();
                RedisSessionStorage storage = RedisSessionStorage.builder().client(client)
                        .uri(BenchServers.redis().uri()).namespace("write-server-time" + System.nanoTime()).build()) {
            RedisCommands<String, String> commands = admin.sync();
            String payload = "x".repeat(1024);
            for (String phase : new String[] {"warm-up", "create", "update"}) {
                commands.configResetstat();
                List<CompletableFuture<Boolean>> pending = new ArrayList<>();
                for (int i = 0; i < 20_000; i++) {
                    String id = phase.equals("create") ? "c" + i : "u" + (i % 100);
                    pending.add(storage.storeSession(SessionState.builder(id, "user" + (i % 100), "project")
                            .createdAt(Instant.now()).putMetadata("p", payload).build(), null));
                    if (pending.size() == 64) {
                        pending.forEach(CompletableFuture::join);
                        pending.clear();
                    }
                }
                pending.forEach(CompletableFuture::join);
                for (String line : commands.info("commandstats").split("\r?\n")) {
                    if (line.startsWith("cmdstat_evalsha:")) {
                        out.println(phase + ": " + line.substring("cmdstat_evalsha:".length()));
                    }
                }
            }
        } finally {
            client.shutdown();
            BenchServers.stop();
        }
    }
}
