package io.sessionbuddy.core.format;

import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionJsonCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionTooLargeException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sessionbuddy.core.CorruptSessionException.Reason;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SessionRecordCodecTest {
    private static final byte[] KEY_1 = key(1);
    private static final byte[] KEY_2 = key(2);
    private static final KeyRing RING = KeyRing.of("k1", Map.of("k1", KEY_1));

    private static byte[] key(int seed) {
        byte[] key = new byte[KeyRing.KEY_BYTES];
        Arrays.fill(key, (byte) seed);
        return key;
    }

    private static SessionState session(String id, int turns) {
        List<ObjectNode> history = new ArrayList<>();
        for (int i = 0; i < turns; i++) {
            history.add(JsonNodeFactory.instance.objectNode().put("role", "user").put("content", "message " + i + " ü"));
        }
        return SessionState.builder(id, "user", "project").createdAt(Instant.parse("2024-01-01T00:00:00Z"))
                .conversationHistory(history).version(3).build();
    }

    private static SessionRecordCodec codec(Compression compression, KeyRing ring) {
        return new SessionRecordCodec(StoredFormat.defaults().withCompression(compression).withKeyRing(ring));
    }

    private static Reason reasonOf(Runnable call) {
        try {
            call.run();
        } catch (CorruptSessionException e) {
            return e.reason();
        }
        throw new AssertionError("expected a CorruptSessionException");
    }

    private static byte[] withChecksum(byte[] record) {
        CRC32C crc = new CRC32C();
        crc.update(record, 0, record.length - 4);
        ByteBuffer.wrap(record, record.length - 4, 4).putInt((int) crc.getValue());
        return record;
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void aVersion2RecordCarriesItsSummaryAndStillRoundTrips(Compression compression) {
        SessionState state = session("abc", 200).withExpiresAt(Instant.parse("2030-01-02T03:04:05.123456789Z"));
        for (KeyRing ring : List.of(KeyRing.none(), RING)) {
            SessionRecordCodec codec = codec(compression, ring);
            byte[] record = codec.encode(state, "ns", true);

            assertThat(record[3]).isEqualTo((byte) 2);
            assertThat(codec.decode(record, "ns", "abc")).isEqualTo(state);
            SessionRecordCodec.Summary summary = codec.summary(record, "ns", "abc").orElseThrow();
            assertThat(summary.version()).isEqualTo(3);
            assertThat(summary.expiresAt()).isEqualTo(state.expiresAt());
            assertThat(summary.userHash()).isEqualTo(SessionRecordCodec.ownerHash("user")).hasSize(64);
            assertThat(summary.projectHash()).isEqualTo(SessionRecordCodec.ownerHash("project"));
            assertThat(summary.isExpiredAt(Instant.parse("2030-01-02T03:04:05.123456788Z"))).isFalse();
            assertThat(summary.isExpiredAt(state.expiresAt())).isTrue();
        }
    }

    @Test
    void withoutSummaryOrWithWriteVersion1TheRecordIsVersion1AndHasNoSummary() {
        SessionState state = session("abc", 3);
        SessionRecordCodec codec = codec(Compression.ZSTD, KeyRing.none());
        SessionRecordCodec v1 = new SessionRecordCodec(StoredFormat.defaults().withWriteVersion(1));

        for (byte[] record : List.of(codec.encode(state, "ns"), v1.encode(state, "ns", true))) {
            assertThat(record[3]).isEqualTo((byte) 1);
            assertThat(codec.summary(record, "ns", "abc")).isEmpty();
            assertThat(codec.decode(record, "ns", "abc")).isEqualTo(state);
        }
        assertThat(codec.summary(SessionJsonCodec.toBytes(state), "ns", "abc")).isEmpty();
        assertThat(session("abc", 0).expiresAt()).isNull();
        assertThat(codec.summary(codec.encode(state, "ns", true), "ns", "abc").orElseThrow().expiresAt()).isNull();
        assertThatThrownBy(() -> StoredFormat.defaults().withWriteVersion(3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("writeVersion");
    }

    @Test
    void aSummaryIsCheckedLikeTheRecord() {
        SessionState state = session("abc", 20);
        SessionRecordCodec plain = codec(Compression.ZSTD, KeyRing.none());
        byte[] record = plain.encode(state, "ns", true);

        byte[] flipped = record.clone();
        flipped[10] ^= 1; // inside the summary
        assertThat(reasonOf(() -> plain.summary(flipped, "ns", "abc"))).isEqualTo(Reason.CHECKSUM_MISMATCH);
        assertThat(reasonOf(() -> plain.summary(Arrays.copyOf(record, 40), "ns", "abc")))
                .isEqualTo(Reason.TRUNCATED);
        byte[] newer = record.clone();
        newer[3] = 3;
        assertThat(reasonOf(() -> plain.summary(newer, "ns", "abc"))).isEqualTo(Reason.UNSUPPORTED_VERSION);

        // a summary that disagrees with the body (the version, rewritten with a valid checksum)
        byte[] forged = record.clone();
        ByteBuffer.wrap(forged, 7, 8).putLong(99);
        withChecksum(forged);
        assertThat(plain.summary(forged, "ns", "abc").orElseThrow().version()).isEqualTo(99);
        assertThat(reasonOf(() -> plain.decode(forged, "ns", "abc"))).isEqualTo(Reason.MALFORMED);

        SessionRecordCodec encrypted = codec(Compression.ZSTD, RING);
        byte[] sealed = encrypted.encode(state, "ns", true);
        assertThat(encrypted.summary(sealed, "ns", "abc")).isPresent();
        assertThat(reasonOf(() -> encrypted.summary(sealed, "ns", "other"))).isEqualTo(Reason.WRONG_SESSION);
        assertThat(reasonOf(() -> encrypted.summary(record, "ns", "abc"))).isEqualTo(Reason.NOT_ENCRYPTED);
    }

    @ParameterizedTest
    @EnumSource(Compression.class)
    void everyCompressionWithAndWithoutEncryptionRoundTrips(Compression compression) {
        SessionState state = session("abc", 200);
        for (KeyRing ring : List.of(KeyRing.none(), RING)) {
            SessionRecordCodec codec = codec(compression, ring);
            byte[] record = codec.encode(state, "ns");

            assertThat(record[4]).isEqualTo((byte) compression.id());
            assertThat(record[5]).isEqualTo((byte) (ring.isEmpty() ? 0 : 1));
            assertThat(codec.decode(record, "ns", "abc")).isEqualTo(state);
            if (compression != Compression.NONE) {
                assertThat(record.length).isLessThan(SessionJsonCodec.toBytes(state).length / 3);
            }
        }
    }

    @Test
    void smallAndIncompressiblePayloadsAreStoredUncompressed() {
        SessionRecordCodec codec = codec(Compression.ZSTD, KeyRing.none());
        byte[] small = codec.encode(session("small", 1), "ns");
        assertThat(small[4]).as("under the 1 KiB threshold").isEqualTo((byte) 0);

        // whatever the compression, a record is never bigger than its JSON plus the 19-byte envelope
        byte[] noise = new byte[4096];
        new java.util.Random(3).nextBytes(noise);
        SessionState random = session("noise", 0).toBuilder()
                .metadata(Map.of("n", java.util.Base64.getEncoder().encodeToString(noise))).build();
        for (Compression compression : Compression.values()) {
            SessionRecordCodec everything = new SessionRecordCodec(StoredFormat.defaults().withCompression(compression)
                    .withCompressionThreshold(0));
            for (SessionState state : List.of(random, session("tiny", 0))) {
                byte[] record = everything.encode(state, "ns");
                assertThat(record.length).isLessThanOrEqualTo(SessionJsonCodec.toBytes(state).length + 19);
                assertThat(everything.decode(record, "ns", state.sessionId())).isEqualTo(state);
            }
        }
    }

    @Test
    void encryptedRecordsHideTheContentAndUseAFreshNonceEachTime() {
        SessionRecordCodec codec = codec(Compression.NONE, RING);
        SessionState state = session("abc", 3);

        byte[] first = codec.encode(state, "ns");
        byte[] second = codec.encode(state, "ns");

        assertThat(new String(first, StandardCharsets.ISO_8859_1)).doesNotContain("message").doesNotContain("project");
        assertThat(first).isNotEqualTo(second);
    }

    @Test
    void eachKindOfDamageHasItsOwnReason() {
        SessionRecordCodec codec = codec(Compression.ZSTD, RING);
        byte[] record = codec.encode(session("abc", 100), "ns");

        assertThat(reasonOf(() -> codec.decode(Arrays.copyOf(record, record.length - 1), "ns", "abc")))
                .isEqualTo(Reason.TRUNCATED);
        assertThat(reasonOf(() -> codec.decode(Arrays.copyOf(record, 10), "ns", "abc"))).isEqualTo(Reason.TRUNCATED);
        byte[] flipped = record.clone();
        flipped[flipped.length - 20] ^= 1;
        assertThat(reasonOf(() -> codec.decode(flipped, "ns", "abc"))).isEqualTo(Reason.CHECKSUM_MISMATCH);
        assertThat(reasonOf(() -> codec.decode(withChecksum(flipped), "ns", "abc")))
                .isEqualTo(Reason.AUTHENTICATION_FAILED);
        assertThat(reasonOf(() -> codec.decode(record, "ns", "other"))).isEqualTo(Reason.WRONG_SESSION);
        assertThat(reasonOf(() -> codec.decode(record, "other-ns", "abc"))).isEqualTo(Reason.WRONG_SESSION);
        assertThat(reasonOf(() -> codec(Compression.ZSTD, KeyRing.of("k1", Map.of("k1", KEY_2)))
                .decode(record, "ns", "abc"))).isEqualTo(Reason.WRONG_KEY);
        assertThat(reasonOf(() -> codec(Compression.ZSTD, KeyRing.of("k2", Map.of("k2", KEY_2)))
                .decode(record, "ns", "abc"))).isEqualTo(Reason.UNKNOWN_KEY);
        byte[] newer = record.clone();
        newer[3] = 9;
        assertThat(reasonOf(() -> codec.decode(newer, "ns", "abc"))).isEqualTo(Reason.UNSUPPORTED_VERSION);
        assertThat(reasonOf(() -> codec.decode("garbage!".getBytes(StandardCharsets.US_ASCII), "ns", "abc")))
                .isEqualTo(Reason.NOT_ENCRYPTED);
        assertThat(reasonOf(() -> codec(Compression.ZSTD, KeyRing.none())
                .decode("garbage!".getBytes(StandardCharsets.US_ASCII), "ns", "abc"))).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void aForgedBindingStillFailsAuthentication() {
        SessionRecordCodec codec = codec(Compression.NONE, RING);
        byte[] record = codec.encode(session("abc", 1), "ns");
        byte[] forOther = codec.encode(session("xyz", 1), "ns");
        int binding = 7 + 2 + 4 + 12;
        System.arraycopy(forOther, binding, record, binding, 4);

        assertThat(reasonOf(() -> codec.decode(withChecksum(record), "ns", "xyz")))
                .isEqualTo(Reason.AUTHENTICATION_FAILED);
    }

    @Test
    void aKeyRingReadsOldKeysAndWritesWithTheActiveOne() {
        byte[] old = codec(Compression.ZSTD, RING).encode(session("abc", 10), "ns");
        SessionRecordCodec rotated = codec(Compression.ZSTD, KeyRing.of("k2", Map.of("k1", KEY_1, "k2", KEY_2)));

        assertThat(rotated.decode(old, "ns", "abc").sessionId()).isEqualTo("abc");
        byte[] fresh = rotated.encode(session("abc", 10), "ns");
        assertThat(new String(fresh, 7, fresh[6], StandardCharsets.US_ASCII)).isEqualTo("k2");
    }

    @Test
    void plainJsonAndTheOriginalsGzipJsonStillRead() throws Exception {
        SessionState state = session("abc", 5);
        SessionRecordCodec required = codec(Compression.ZSTD, RING);
        SessionRecordCodec codec = new SessionRecordCodec(required.format().withEncryptionRequired(false));
        byte[] json = SessionJsonCodec.toBytes(state);

        assertThat(codec.decode(json, "ns", "abc")).isEqualTo(state);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(json);
        }
        assertThat(codec.decode(gz.toByteArray(), "ns", "abc")).isEqualTo(state);
        // with encryption required (the default with keys), neither is accepted, nor an envelope without cipher
        byte[] unencryptedEnvelope = codec(Compression.ZSTD, KeyRing.none()).encode(state, "ns");
        for (byte[] plaintext : List.of(json, gz.toByteArray(), unencryptedEnvelope)) {
            assertThat(reasonOf(() -> required.decode(plaintext, "ns", "abc"))).isEqualTo(Reason.NOT_ENCRYPTED);
        }
        assertThat(codec.decode(unencryptedEnvelope, "ns", "abc")).isEqualTo(state);
    }

    @Test
    void decompressionIsBounded() throws Exception {
        StoredFormat small = new StoredFormat(Compression.GZIP, 0, 64 * 1024, 64 * 1024, KeyRing.none());
        SessionRecordCodec codec = new SessionRecordCodec(small);
        // a gzip bomb: 32 KiB of zeros inflate to 32 MiB
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write('{');
            byte[] zeros = new byte[1024 * 1024];
            for (int i = 0; i < 32; i++) {
                out.write(zeros);
            }
        }
        CorruptSessionException bomb = org.junit.jupiter.api.Assertions.assertThrows(CorruptSessionException.class,
                () -> codec.decode(gz.toByteArray(), "ns", "abc"));
        assertThat(bomb.reason()).isEqualTo(Reason.TOO_LARGE);
        assertThat(bomb).hasMessageContaining("65536");

        // an envelope whose header claims more than the bound
        byte[] big = new SessionRecordCodec(StoredFormat.defaults()).encode(session("abc", 3000), "ns");
        assertThat(reasonOf(() -> codec.decode(big, "ns", "abc"))).isEqualTo(Reason.TOO_LARGE);

        // an envelope whose header understates what its zstd payload holds
        byte[] lying = new SessionRecordCodec(StoredFormat.defaults().withCompressionThreshold(0))
                .encode(session("abc", 100), "ns");
        int decodedAt = 7;
        ByteBuffer.wrap(lying, decodedAt, 4).putInt(100);
        assertThat(reasonOf(() -> new SessionRecordCodec(StoredFormat.defaults()).decode(withChecksum(lying), "ns",
                "abc"))).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void aSessionOverTheLimitIsRefusedWithItsSizeAndTheLimit() {
        SessionRecordCodec codec = new SessionRecordCodec(StoredFormat.defaults().withMaxSessionBytes(2048));
        SessionState big = session("abc", 100);

        assertThatThrownBy(() -> codec.encode(big, "ns")).isInstanceOf(SessionTooLargeException.class)
                .hasMessageContaining("over the limit of 2048 bytes").hasMessageContaining("abc")
                .satisfies(e -> assertThat(((SessionTooLargeException) e).size())
                        .isEqualTo(SessionJsonCodec.toBytes(big).length));
        assertThatThrownBy(() -> codec.checkSize(big)).isInstanceOf(SessionTooLargeException.class)
                .satisfies(e -> assertThat(((SessionTooLargeException) e).size())
                        .isEqualTo(SessionJsonCodec.toBytes(big).length));
        assertThat(SessionJsonCodec.size(big)).isEqualTo(SessionJsonCodec.toBytes(big).length);
        assertThat(codec.checkSize(session("abc", 1))).isLessThan(2048);
    }

    @Test
    void keyRingsNeverShowKeyMaterial() {
        KeyRing ring = KeyRing.of("k2", Map.of("k1", KEY_1, "k2", KEY_2));

        assertThat(ring.toString()).contains("k1", "k2").doesNotContain(java.util.Base64.getEncoder()
                .encodeToString(KEY_1));
        assertThatThrownBy(() -> KeyRing.of("k1", Map.of("k1", new byte[16])))
                .hasMessageContaining("32 bytes").hasMessageContaining("was 16");
        assertThatThrownBy(() -> KeyRing.of("k3", Map.of("k1", KEY_1))).hasMessageContaining("k3");
    }

    @Test
    void aSmallForgedRecordClaimingAHugeBodyDoesNotAllocateIt() {
        SessionRecordCodec codec = new SessionRecordCodec(StoredFormat.defaults().withCompressionThreshold(0));
        byte[] record = codec.encode(session("abc", 1), "ns");
        assertThat(record[4]).as("zstd").isEqualTo((byte) 2);
        java.nio.ByteBuffer.wrap(record).putInt(7, 60 * 1024 * 1024); // the decoded length field
        byte[] forged = withChecksum(record);
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();

        assertThat(reasonOf(() -> codec.decode(forged, "ns", "abc"))).isEqualTo(Reason.MALFORMED);

        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated by decoding the forged record").isLessThan(8L * 1024 * 1024);
    }

    /**
     * Encoding reuses buffers between calls (and threads): a record holds its own session's bytes
     * only, whatever was encoded before it, in which order and on which thread.
     */
    @ParameterizedTest
    @EnumSource(Compression.class)
    void recordsEncodedOneAfterAnotherAndFromManyThreadsHoldTheirOwnSessionOnly(Compression compression)
            throws Exception {
        SessionRecordCodec codec = codec(compression, KeyRing.none());
        // sizes across the 16 KiB start of a buffer and over the 256 KiB kept in the pool
        List<SessionState> states = List.of(session("big", 12_000), session("mid", 600), session("small", 1),
                session("tiny", 0), session("mid2", 700), session("big2", 11_000));
        List<byte[]> expected = new ArrayList<>();
        for (SessionState state : states) {
            expected.add(codec.encode(state, "scope"));
        }
        assertThat(SessionJsonCodec.toBytes(states.get(0)).length).isGreaterThan(EncodeBuffer.KEPT_BYTES);
        for (int round = 0; round < 3; round++) {
            for (int i = states.size() - 1; i >= 0; i--) {
                assertThat(codec.encode(states.get(i), "scope")).isEqualTo(expected.get(i));
            }
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<?>> runs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int offset = t;
                runs.add(pool.submit(() -> {
                    for (int n = 0; n < 60; n++) {
                        int i = (n + offset) % states.size();
                        byte[] record = codec.encode(states.get(i), "scope");
                        assertThat(record).isEqualTo(expected.get(i));
                        assertThat(codec.decode(record, "scope", states.get(i).sessionId())).isEqualTo(states.get(i));
                    }
                }));
            }
            for (java.util.concurrent.Future<?> run : runs) {
                run.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
