package io.sessionbuddy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.format.Compression;
import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.CorruptSessionException.Reason;
import io.sessionbuddy.core.format.KeyRing;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionJsonCodec;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * The contract of a storage that stores bytes (file, redis, s3, and any third-party backend that
 * writes the shared stored format): everything of {@link SessionStorageContract}, plus tests that
 * reach the stored records directly to truncate, damage and move them, read them with wrong keys,
 * and mix formats written with other settings. A storage that keeps objects (memory) extends
 * {@link SessionStorageContract} only.
 */
public abstract class BytesSessionStorageContract extends SessionStorageContract {
    /**
     * Another storage on the same store as the one {@link #createStorage} made last in this test
     * (as another process would open it), with another stored format.
     *
     * @param clock the clock for expiry
     * @param format the stored format
     * @return the storage; the suite closes it
     */
    protected abstract SessionStorage reopenStorage(Clock clock, StoredFormat format);

    /**
     * Raw access to the stored records of the store {@link #createStorage} made last.
     *
     * @return access to the records
     */
    protected abstract RawRecords rawRecords();

    @Override
    protected SessionStorage anotherStorageOnTheSameStore() {
        return reopenStorage(clock, storedFormat());
    }

    @Test
    void rewriteAllReportsEveryRecordItCouldNotRewrite() throws Exception {
        RawRecords raw = rawRecords();
        SessionState good = session(id(), "rw-user", "rw-project");
        await(storage.storeSession(good, null));
        List<String> damaged = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            SessionState state = session(id(), "rw-user", "rw-project");
            await(storage.storeSession(state, null));
            byte[] record = raw.read(state.sessionId());
            record[record.length / 2] ^= 0x5a;
            raw.write(state.sessionId(), record);
            damaged.add(state.sessionId());
        }

        io.sessionbuddy.core.SessionManager.RewriteReport report = await(
                new io.sessionbuddy.core.SessionManager(storage).rewriteAllSessions());

        assertThat(report.rewritten()).isEqualTo(1);
        assertThat(report.failures().keySet()).containsExactlyInAnyOrderElementsOf(damaged);
        assertThat(stored(good.sessionId()).version()).isEqualTo(good.version() + 1);
    }

    @Test
    void cleanupKeepsTheIndexEntriesOfRecordsItCannotRead() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SessionState state = session(id(), "key-user", "key-project");
            await(storage.storeSession(state, null));
            ids.add(state.sessionId());
        }
        // another instance that lacks the key the records were written with runs cleanup
        byte[] otherKey = new byte[KeyRing.KEY_BYTES];
        java.util.Arrays.fill(otherKey, (byte) 7);
        SessionStorage keyless = closeAfterTest(reopenStorage(clock, storedFormat()
                .withKeyRing(KeyRing.of("other-key", java.util.Map.of("other-key", otherKey)))));
        await(keyless.cleanupExpiredSessions());
        await(keyless.listSessions("key-user", null));

        assertThat(await(storage.listSessions("key-user", null))).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(await(storage.listSessions(null, "key-project"))).containsExactlyInAnyOrderElementsOf(ids);
    }

    @Test
    void aRecordLargerThanAnyThisStoreWritesIsRefusedWithoutBeingRead() throws Exception {
        StoredFormat small = new StoredFormat(storedFormat().compression(), storedFormat().compressionThresholdBytes(),
                4096, 4096, storedFormat().keyRing(), storedFormat().encryptionRequired());
        SessionStorage bounded = closeAfterTest(reopenStorage(clock, small));
        SessionState state = session(id(), "big-user", "p");
        await(storage.storeSession(state, null));
        byte[] huge = new byte[64 * 1024];
        java.util.Arrays.fill(huge, (byte) '{');
        rawRecords().write(state.sessionId(), huge);

        Throwable refused = failureOf(() -> bounded.retrieveSession(state.sessionId()));
        assertThat(refused).isInstanceOf(CorruptSessionException.class).hasMessageContaining("65536 bytes");
        assertThat(((CorruptSessionException) refused).reason()).isEqualTo(Reason.TOO_LARGE);
    }

    /**
     * For a backend that keeps the version beside the record (Redis, S3): stores a session, keeps its
     * record, updates it, puts the older record back (as someone with write access to the store
     * could), and checks that reading it then fails with {@link Reason#VERSION_MISMATCH}. A backend
     * that keeps no version outside the record (a file) cannot tell, so this is not a contract test.
     *
     * @throws Exception when the store fails
     */
    protected final void assertAnOlderRecordPutBackIsRefused() throws Exception {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String id = await(manager.createSession("replay-user", "p", Map.of("n", 1), null));
        byte[] older = rawRecords().read(id);
        await(manager.updateSession(id, Map.of("permissions", List.of("revoked-later")), null));
        rawRecords().write(id, older);

        Throwable refused = failureOf(() -> storage.retrieveSession(id));
        assertThat(refused).isInstanceOf(CorruptSessionException.class)
                .hasMessageContaining("an older record was put back");
        assertThat(((CorruptSessionException) refused).reason()).isEqualTo(Reason.VERSION_MISMATCH);
    }

    @Test
    void aBulkReadThatMeetsADamagedRecordFailsNamingIt() throws Exception {
        SessionState good = session(id(), "u", "p");
        SessionState damaged = session(id(), "u", "p");
        await(storage.storeSession(good, null));
        await(storage.storeSession(damaged, null));
        rawRecords().write(damaged.sessionId(), "not a record".getBytes(StandardCharsets.US_ASCII));

        Throwable refused = failureOf(() -> storage.retrieveSessions(List.of(good.sessionId(), damaged.sessionId())));

        assertThat(refused).isInstanceOf(CorruptSessionException.class).hasMessageContaining(damaged.sessionId());
        assertThat(await(storage.retrieveSessions(List.of(good.sessionId())))).containsOnlyKeys(good.sessionId());
    }

    @Test
    void storedRecordsAreTheVersionedEnvelope() throws Exception {
        RawRecords raw = rawRecords();
        SessionState state = largeSession(id(), "u", "p");
        await(storage.storeSession(state, null));

        byte[] record = raw.read(state.sessionId());

        assertThat(new String(record, 0, 3, StandardCharsets.US_ASCII)).isEqualTo("SBF");
        // version 2 adds a summary to the header for backends that read it (file); 1 otherwise
        assertThat((int) record[3]).as("format version").isIn(1, SessionRecordCodec.FORMAT_VERSION);
        assertThat(record[4]).as("compression id").isEqualTo((byte) storedFormat().compression().id());
        assertThat(record[5]).as("cipher id").isEqualTo((byte) (storedFormat().keyRing().isEmpty() ? 0 : 1));
        if (!storedFormat().keyRing().isEmpty()) {
            assertThat(new String(record, StandardCharsets.ISO_8859_1)).doesNotContain("Turn ").doesNotContain("assistant");
        }
    }

    @Test
    void recordsWrittenWithOtherSettingsAndPlainJsonStillRead() throws Exception {
        RawRecords raw = rawRecords();
        List<SessionState> written = new ArrayList<>();
        for (Compression compression : Compression.values()) {
            SessionStorage other = reopenStorage(clock, storedFormat().withKeyRing(KeyRing.none())
                    .withCompression(compression).withCompressionThreshold(0));
            closeAfterTest(other);
            SessionState state = largeSession(id(), "mixed", "p");
            await(other.storeSession(state, null));
            written.add(state);
        }
        SessionState legacy = fullSession(id(), "mixed", "p");
        await(storage.storeSession(legacy, null));
        raw.write(legacy.sessionId(), SessionJsonCodec.toBytes(stored(legacy.sessionId())));
        written.add(legacy);

        // with keys configured, plaintext is read only while encryption_required is off (a rollout)
        SessionStorage reader = storedFormat().keyRing().isEmpty() ? storage
                : closeAfterTest(reopenStorage(clock, storedFormat().withEncryptionRequired(false)));
        for (SessionState state : written) {
            assertThat(withoutExpiry(await(reader.retrieveSession(state.sessionId())).orElseThrow()))
                    .isEqualTo(withoutExpiry(state));
        }
        assertThat(await(reader.listSessions("mixed", null))).hasSize(written.size());
    }

    @Test
    void withKeysAPlantedPlaintextRecordIsRefused() throws Exception {
        byte[] key = new byte[KeyRing.KEY_BYTES];
        java.util.Arrays.fill(key, (byte) 3);
        StoredFormat keyed = storedFormat().withKeyRing(KeyRing.of("planted-test", java.util.Map.of("planted-test", key)));
        SessionStorage encrypted = storedFormat().keyRing().isEmpty() ? closeAfterTest(reopenStorage(clock, keyed))
                : storage;
        SessionStorage plaintextWriter = closeAfterTest(reopenStorage(clock, storedFormat().withKeyRing(KeyRing.none())));
        SessionState planted = session(id(), "mallory", "p").toBuilder().permissions(List.of("admin")).version(7).build();
        await(plaintextWriter.storeSession(planted, null));
        rawRecords().write(planted.sessionId(), SessionJsonCodec.toBytes(await(
                plaintextWriter.retrieveSession(planted.sessionId())).orElseThrow()));

        Throwable refused = failureOf(() -> encrypted.retrieveSession(planted.sessionId()));
        assertThat(refused).isInstanceOf(CorruptSessionException.class);
        assertThat(((CorruptSessionException) refused).reason()).isEqualTo(CorruptSessionException.Reason.NOT_ENCRYPTED);
        await(plaintextWriter.storeSession(planted, null)); // the envelope without a cipher too
        Throwable envelope = failureOf(() -> encrypted.retrieveSession(planted.sessionId()));
        assertThat(((CorruptSessionException) envelope).reason()).isEqualTo(CorruptSessionException.Reason.NOT_ENCRYPTED);
    }

    @Test
    void damagedTruncatedAndMovedRecordsFailWithDistinctReasons() throws Exception {
        RawRecords raw = rawRecords();
        SessionState truncated = largeSession(id(), "u", "p");
        SessionState flipped = largeSession(id(), "u", "p");
        SessionState moved = largeSession(id(), "u", "p");
        SessionState newer = largeSession(id(), "u", "p");
        SessionState healthy = largeSession(id(), "u", "p");
        for (SessionState state : List.of(truncated, flipped, moved, newer, healthy)) {
            await(storage.storeSession(state, null));
        }

        byte[] record = raw.read(truncated.sessionId());
        raw.write(truncated.sessionId(), Arrays.copyOf(record, record.length - 7));
        byte[] damaged = raw.read(flipped.sessionId());
        damaged[damaged.length / 2] ^= 0x20;
        raw.write(flipped.sessionId(), damaged);
        raw.write(moved.sessionId(), raw.read(healthy.sessionId()));
        byte[] future = raw.read(newer.sessionId());
        future[3] = (byte) (SessionRecordCodec.FORMAT_VERSION + 1);
        raw.write(newer.sessionId(), withChecksum(future));

        assertCorrupt(truncated.sessionId(), Reason.TRUNCATED, "cut off");
        assertCorrupt(flipped.sessionId(), Reason.CHECKSUM_MISMATCH, "checksum");
        assertCorrupt(moved.sessionId(), Reason.WRONG_SESSION, "moved");
        assertCorrupt(newer.sessionId(), Reason.UNSUPPORTED_VERSION, "version " + (SessionRecordCodec.FORMAT_VERSION + 1));
        assertThat(withoutExpiry(stored(healthy.sessionId()))).isEqualTo(withoutExpiry(healthy));
        assertThat(await(storage.retrieveSession(healthy.sessionId()))).isPresent();
    }

    @Test
    void storedIdsIncludeExpiredAndUnreadableRecords() throws Exception {
        RawRecords raw = rawRecords();
        SessionState live = session(id(), "u", "p");
        SessionState broken = session(id(), "u", "p");
        SessionState expiring = session(id(), "u", "p");
        await(storage.storeSession(live, null));
        await(storage.storeSession(broken, null));
        await(storage.storeSession(expiring, SHORT_TTL));
        raw.write(broken.sessionId(), "not a record".getBytes(StandardCharsets.US_ASCII));
        advance(SHORT_TTL.plusMillis(200));

        List<String> ids = await(storage.listStoredSessionIds());

        assertThat(ids).contains(live.sessionId(), broken.sessionId()).isSorted();
        if (!serverOwnsTime()) {
            assertThat(ids).contains(expiring.sessionId());
        }
        assertThat(await(storage.listSessions(null, null))).contains(live.sessionId())
                .doesNotContain(expiring.sessionId());
    }

    @Test
    void encryptedRecordsNeedTheRightKeyAndUntamperedBytes() throws Exception {
        RawRecords raw = rawRecords();
        // the encrypted variant's own storage, or one with the test key on the same store
        StoredFormat format = storedFormat().keyRing().isEmpty() ? encryptedFormat() : storedFormat();
        SessionStorage encrypted = format.equals(storedFormat()) ? storage : closeAfterTest(reopenStorage(clock, format));
        KeyRing ring = format.keyRing();
        SessionState forged = largeSession(id(), "u", "p");
        SessionState state = largeSession(id(), "u", "p");
        await(encrypted.storeSession(forged, null));
        await(encrypted.storeSession(state, null));

        byte[] record = raw.read(forged.sessionId());
        record[record.length - 10] ^= 0x01;
        raw.write(forged.sessionId(), withChecksum(record));
        assertCorrupt(encrypted, forged.sessionId(), Reason.AUTHENTICATION_FAILED, "tampered");

        byte[] otherMaterial = new byte[KeyRing.KEY_BYTES];
        Arrays.fill(otherMaterial, (byte) 7);
        SessionStorage wrongKey = reopenStorage(clock, format.withKeyRing(
                KeyRing.of(ring.activeKeyId(), Map.of(ring.activeKeyId(), otherMaterial))));
        closeAfterTest(wrongKey);
        Throwable wrong = failureOf(() -> wrongKey.retrieveSession(state.sessionId()));
        assertThat(wrong).isInstanceOf(CorruptSessionException.class).hasMessageContaining("another key");
        assertThat(((CorruptSessionException) wrong).reason()).isEqualTo(Reason.WRONG_KEY);

        SessionStorage otherRing = reopenStorage(clock, format.withKeyRing(
                KeyRing.of("other", Map.of("other", otherMaterial))));
        closeAfterTest(otherRing);
        Throwable unknown = failureOf(() -> otherRing.retrieveSession(state.sessionId()));
        assertThat(unknown).isInstanceOf(CorruptSessionException.class).hasMessageContaining(ring.activeKeyId());
        assertThat(((CorruptSessionException) unknown).reason()).isEqualTo(Reason.UNKNOWN_KEY);

        SessionStorage noKeys = reopenStorage(clock, format.withKeyRing(KeyRing.none()));
        closeAfterTest(noKeys);
        assertThat(((CorruptSessionException) failureOf(() -> noKeys.retrieveSession(state.sessionId()))).reason())
                .isEqualTo(Reason.UNKNOWN_KEY);
        assertThat(withoutExpiry(await(encrypted.retrieveSession(state.sessionId())).orElseThrow()))
                .isEqualTo(withoutExpiry(state));
    }

    @Test
    void rotatingTheKeyRewritesEverySessionWithTheNewKey() throws Exception {
        RawRecords raw = rawRecords();
        byte[] first = new byte[KeyRing.KEY_BYTES];
        byte[] second = new byte[KeyRing.KEY_BYTES];
        Arrays.fill(first, (byte) 1);
        Arrays.fill(second, (byte) 2);
        SessionStorage old = reopenStorage(clock, storedFormat().withKeyRing(KeyRing.of("k1", Map.of("k1", first))));
        closeAfterTest(old);
        List<SessionState> states = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SessionState state = largeSession(id(), "rot", "p");
            await(old.storeSession(state, null));
            states.add(state);
        }

        SessionStorage rotated = reopenStorage(clock, storedFormat().withKeyRing(
                KeyRing.of("k2", Map.of("k1", first, "k2", second))));
        closeAfterTest(rotated);
        SessionManager.RewriteReport report = await(new SessionManager(rotated, SessionBuddyConfig.defaults(), clock)
                .rewriteAllSessions());

        assertThat(report.rewritten()).isEqualTo(3);
        assertThat(report.failures()).isEmpty();
        SessionStorage onlyNew = reopenStorage(clock, storedFormat().withKeyRing(KeyRing.of("k2", Map.of("k2", second))));
        closeAfterTest(onlyNew);
        for (SessionState state : states) {
            byte[] record = raw.read(state.sessionId());
            assertThat(new String(record, 7, record[6], StandardCharsets.US_ASCII)).isEqualTo("k2");
            SessionState read = await(onlyNew.retrieveSession(state.sessionId())).orElseThrow();
            assertThat(read.version()).isEqualTo(state.version() + 1);
            assertThat(read.lastActivity()).isEqualTo(state.lastActivity());
            assertThat(withoutExpiry(read).toBuilder().version(state.version()).build()).isEqualTo(withoutExpiry(state));
        }
    }

    private void assertCorrupt(String sessionId, Reason reason, String words) {
        assertCorrupt(storage, sessionId, reason, words);
    }

    private static void assertCorrupt(SessionStorage reader, String sessionId, Reason reason, String words) {
        Throwable failure = failureOf(() -> reader.retrieveSession(sessionId));
        assertThat(failure).isInstanceOf(CorruptSessionException.class).hasMessageContaining(sessionId)
                .hasMessageContaining(words);
        assertThat(((CorruptSessionException) failure).reason()).as(failure.getMessage()).isEqualTo(reason);
    }

    /** {@code record} with its trailing CRC32C recomputed, as a deliberate forger would. */
    private static byte[] withChecksum(byte[] record) {
        CRC32C crc = new CRC32C();
        crc.update(record, 0, record.length - 4);
        ByteBuffer.wrap(record, record.length - 4, 4).putInt((int) crc.getValue());
        return record;
    }
}
