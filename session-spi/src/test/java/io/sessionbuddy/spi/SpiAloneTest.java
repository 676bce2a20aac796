package io.sessionbuddy.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sessionbuddy.core.format.Compression;
import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.format.StoredFormat;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * What a backend author gets from {@code session-spi} alone: this module's test class path is
 * exactly that (session-core, Jackson, the SLF4J API; no zstd-jni, no Guice, no Guava).
 */
class SpiAloneTest {
    /** A minimal backend that stores bytes, as a third party would write one. */
    private static final class MapStorage extends AbstractSessionStorage {
        final Map<String, byte[]> records = new ConcurrentHashMap<>();

        MapStorage(StoredFormat format) {
            super("map", Duration.ofHours(1), Clock.systemUTC(), format, true, "map");
        }

        @Override
        protected CompletableFuture<Void> doStore(SessionState state, byte[] record, Duration ttl) {
            records.put(state.sessionId(), record);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
            byte[] record = records.get(sessionId);
            return CompletableFuture.completedFuture(record == null ? Optional.empty()
                    : Optional.of(decode(sessionId, record, "map entry " + sessionId)));
        }

        @Override
        protected CompletableFuture<Boolean> doDelete(String sessionId) {
            return CompletableFuture.completedFuture(records.remove(sessionId) != null);
        }

        @Override
        protected CompletableFuture<List<String>> doList(String userId, String projectId) {
            return CompletableFuture.completedFuture(List.copyOf(records.keySet()));
        }

        @Override
        protected CompletableFuture<Integer> doCleanup() {
            return CompletableFuture.completedFuture(0);
        }

        @Override
        protected CompletableFuture<Boolean> doPing() {
            return CompletableFuture.completedFuture(true);
        }

        @Override
        protected CompletableFuture<Boolean> doReplace(SessionState state, byte[] record, long expectedVersion,
                Duration ttl) {
            return CompletableFuture.completedFuture(false);
        }

        @Override
        protected void doClose() {
        }
    }

    @Test
    void theClassPathHasNeitherZstdNorGuiceNorGuava() {
        for (String name : List.of("com.github.luben.zstd.ZstdCompressCtx", "com.google.inject.Guice",
                "com.google.common.collect.ImmutableList")) {
            assertThatThrownBy(() -> Class.forName(name)).as(name).isInstanceOf(ClassNotFoundException.class);
        }
    }

    @Test
    void withoutZstdTheDefaultCompressionIsGzipAndABackendWorks() {
        assertThat(Compression.ZSTD.isAvailable()).isFalse();
        assertThat(Compression.preferred()).isEqualTo(Compression.GZIP);
        assertThat(StoredFormat.defaults().compression()).isEqualTo(Compression.GZIP);
        assertThat(new ConfigLoader(Map.of(), Map.of()).parse("{}", "c.json").storedFormat().compression())
                .isEqualTo(Compression.GZIP);

        try (MapStorage storage = new MapStorage(StoredFormat.defaults())) {
            SessionState state = SessionState.builder("s1", "u", "p")
                    .metadata(Map.of("note", "x".repeat(4000))).build();
            assertThat(storage.storeSession(state, null).join()).isTrue();
            byte[] record = storage.records.get("s1");
            assertThat(record[4]).as("compression id").isEqualTo((byte) Compression.GZIP.id());
            assertThat(storage.retrieveSession("s1").join()).map(s -> s.metadata().get("note").asText())
                    .contains("x".repeat(4000));
        }
    }

    @Test
    void askingForZstdWithoutZstdJniIsAClearError() {
        assertThatThrownBy(() -> new ConfigLoader(Map.of(), Map.of()).parse("{\"compression\": \"zstd\"}", "c.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("compression")
                .hasMessageContaining("com.github.luben:zstd-jni");
        assertThatThrownBy(() -> StoredFormat.defaults().withCompression(Compression.ZSTD))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("zstd-jni");
    }

    @Test
    void aZstdRecordReadWithoutZstdJniSaysWhatIsMissing() {
        try (MapStorage storage = new MapStorage(StoredFormat.defaults().withCompression(Compression.NONE))) {
            storage.storeSession(SessionState.builder("s1", "u", "p").build(), null).join();
            // the same record, relabelled as zstd (compression id 2) with a valid checksum
            byte[] record = storage.records.get("s1");
            assertThat(record[3]).isEqualTo((byte) 1);
            record[4] = (byte) Compression.ZSTD.id();
            CRC32C crc = new CRC32C();
            crc.update(record, 0, record.length - 4);
            ByteBuffer.wrap(record, record.length - 4, 4).putInt((int) crc.getValue());

            assertThatThrownBy(() -> storage.retrieveSession("s1").join()).hasCauseInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("com.github.luben:zstd-jni");
        }
    }
}
