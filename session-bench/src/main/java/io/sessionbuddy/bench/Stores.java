package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;
import io.sessionbuddy.file.FileSessionStorage;
import io.sessionbuddy.memory.MemorySessionStorage;
import io.sessionbuddy.redis.RedisSessionStorage;
import io.sessionbuddy.s3.S3StorageProvider;
import io.sessionbuddy.s3.S3TestServer;
import io.sessionbuddy.spi.BackendSettings;
import java.util.Map;

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
            case "file" -> FileSessionStorage.builder(temporaryDirectory()).build();
            case "s3" -> new S3StorageProvider().create(BackendSettings.of("s3", Map.of("bucket", "bench",
                    "endpoint", BenchServers.s3().toString(), "path_style", true, "access_key", S3TestServer.ACCESS_KEY,
                    "secret_key", S3TestServer.SECRET_KEY, "namespace", namespace + System.nanoTime())));
            default -> throw new IllegalArgumentException("unknown backend " + backend);
        };
    }

    private static java.nio.file.Path temporaryDirectory() {
        try {
            java.nio.file.Path base = java.nio.file.Files.createDirectories(java.nio.file.Path.of(
                    System.getProperty("bench.dir", "target")).toAbsolutePath().normalize());
            return java.nio.file.Files.createTempDirectory(base, "stores-");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Stores {@code count} small sessions made by {@code owners} (user and project of session
     * {@code i}), at most 512 writes in flight; ids {@code <prefix>0000000}, ... .
     */
    static void fill(SessionStorage storage, String prefix, int count, IntFunction<String[]> owners) {
        List<CompletableFuture<Boolean>> pending = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String[] owner = owners.apply(i);
            SessionState state = SessionState.builder(String.format("%s%07d", prefix, i), owner[0], owner[1])
                    .createdAt(Instant.parse("2026-11-20T09:00:00Z")).build();
            pending.add(storage.storeSession(state, null));
            if (pending.size() == 512) {
                pending.forEach(CompletableFuture::join);
                pending.clear();
            }
        }
        pending.forEach(CompletableFuture::join);
    }
}
