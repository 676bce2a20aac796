package io.sessionbuddy.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.testkit.MutableClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file backend's touch: the new expiry goes to a small file beside the record, which stays as it
 * is, and that file is applied to the very record it was made for, and to no other.
 */
class FileTouchTest {
    private static final Instant START = Instant.parse("2026-11-27T12:00:00Z");

    @TempDir
    Path directory;

    private final MutableClock clock = new MutableClock(START);

    private FileSessionStorage open() {
        return FileSessionStorage.builder(directory).clock(clock).build();
    }

    private Path root() {
        return directory.resolve(FileSessionStorage.DEFAULT_NAMESPACE);
    }

    private Path record(String id) {
        return root().resolve(FileNames.of(id) + FileSessionStorage.SUFFIX);
    }

    private Path touchFile(String id) {
        return root().resolve(FileNames.of(id) + FileSessionStorage.TOUCH_SUFFIX);
    }

    private static SessionState session(String id, int payloadBytes) {
        return SessionState.builder(id, "touch-user", "touch-project").createdAt(START)
                .metadata(Map.of("payload", "x".repeat(payloadBytes))).build();
    }

    @Test
    void aTouchLeavesTheRecordAsItIsAndReadsListingsAndCleanupSeeTheNewExpiry() throws Exception {
        try (FileSessionStorage storage = open()) {
            for (int size : new int[] {1024, 256 * 1024}) {
                String id = "touched-" + size;
                storage.storeSession(session(id, size), Duration.ofMinutes(10)).join();
                byte[] before = Files.readAllBytes(record(id));
                Object inode = Files.readAttributes(record(id), "unix:ino").get("ino");

                assertThat(storage.touchSession(id, Duration.ofHours(5)).join()).isTrue();

                assertThat(Files.readAllBytes(record(id))).as("the record is not rewritten").isEqualTo(before);
                assertThat(Files.readAttributes(record(id), "unix:ino").get("ino")).isEqualTo(inode);
                assertThat(Files.size(touchFile(id))).isEqualTo(TouchFile.LENGTH);
                assertThat(storage.retrieveSession(id).join().orElseThrow().expiresAt())
                        .isEqualTo(START.plus(Duration.ofHours(5)));
            }
            clock.advance(Duration.ofHours(1)); // past the records' own expiry, within the touch's
            assertThat(storage.cleanupExpiredSessions().join()).isZero();
            assertThat(storage.listSessions("touch-user", null).join()).containsExactly("touched-1024",
                    "touched-262144");
            assertThat(storage.retrieveSession("touched-1024").join()).isPresent();
            try (FileSessionStorage other = open()) {
                assertThat(other.retrieveSession("touched-1024").join().orElseThrow().expiresAt())
                        .as("another storage on the directory (another process) sees the touch")
                        .isEqualTo(START.plus(Duration.ofHours(5)));
            }
            clock.advance(Duration.ofHours(5));
            assertThat(storage.retrieveSession("touched-1024").join()).isEmpty();
            assertThat(storage.cleanupExpiredSessions().join()).isEqualTo(2);
            assertThat(touchFile("touched-1024")).doesNotExist();
            assertThat(record("touched-1024")).doesNotExist();
        }
    }

    @Test
    void aTouchCanShortenALifeAndTheNextWriteReplacesIt() {
        try (FileSessionStorage storage = open()) {
            SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
            String id = manager.createSession("touch-user", "touch-project", Map.of("n", 1), Duration.ofHours(3)).join();
            assertThat(manager.touch(id, Duration.ofMinutes(1)).join()).isTrue();
            assertThat(touchFile(id)).exists();
            assertThat(storage.retrieveSession(id).join().orElseThrow().expiresAt())
                    .isEqualTo(START.plus(Duration.ofMinutes(1)));

            assertThat(manager.updateSession(id, Map.of("metadata", Map.of("n", 2)), Duration.ofHours(2)).join()).isTrue();
            assertThat(touchFile(id)).as("a write replaces the record and removes its touch").doesNotExist();
            assertThat(storage.retrieveSession(id).join().orElseThrow().expiresAt())
                    .isEqualTo(START.plus(Duration.ofHours(2)));
            clock.advance(Duration.ofMinutes(30));
            assertThat(manager.getSession(id).join()).isPresent();

            assertThat(manager.touch(id, Duration.ofMinutes(1)).join()).isTrue();
            assertThat(manager.deleteSession(id).join()).isTrue();
            assertThat(touchFile(id)).doesNotExist();
            assertThat(manager.touch(id, Duration.ofMinutes(1)).join()).isFalse();
            assertThat(touchFile(id)).doesNotExist();
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void touchesRacingUpdatesFromTwoStoragesLoseNoUpdateAndLeaveAReadableSession() throws Exception {
        try (FileSessionStorage first = open(); FileSessionStorage second = open()) {
            SessionManager updater = new SessionManager(first, SessionBuddyConfig.defaults(), clock);
            SessionManager toucher = new SessionManager(second, SessionBuddyConfig.defaults(), clock);
            String id = updater.createSession("touch-user", "touch-project", Map.of("n", 0), Duration.ofHours(1)).join();
            int updates = 200;
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            try {
                java.util.concurrent.Future<?> updating = pool.submit(() -> {
                    for (int i = 0; i < updates; i++) {
                        updater.updateSession(id, state -> state.toBuilder().metadata(Map.of("n",
                                state.metadata().get("n").asInt() + 1)).build()).join();
                    }
                    return null;
                });
                java.util.concurrent.Future<Integer> touching = pool.submit(() -> {
                    int touched = 0;
                    while (!updating.isDone()) {
                        if (toucher.touch(id, Duration.ofMinutes(30 + touched % 60)).join()) {
                            touched++;
                        }
                    }
                    return touched;
                });
                updating.get(100, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(touching.get(100, java.util.concurrent.TimeUnit.SECONDS)).isPositive();
            } finally {
                pool.shutdownNow();
            }
            SessionState last = updater.getSession(id).join().orElseThrow();
            assertThat(last.metadata().get("n").asInt()).as("no update lost to a touch").isEqualTo(updates);
            assertThat(last.version()).isEqualTo(1 + updates);
            assertThat(second.retrieveSession(id).join().orElseThrow().expiresAt()).isEqualTo(last.expiresAt());
        }
    }

    @Test
    void aTouchFileIsNeverAppliedToAnotherRecordOfTheSameVersion() throws IOException {
        try (FileSessionStorage storage = open()) {
            String id = "same-version";
            storage.storeSession(session(id, 10), Duration.ofMinutes(10)).join();
            assertThat(storage.touchSession(id, Duration.ofDays(30)).join()).isTrue();
            Path kept = directory.resolve("kept.touch");
            Files.copy(touchFile(id), kept);
            // deleted and written again with the same version (1); then the old touch file comes back,
            // as after a crash between a write and the removal of the touch file
            storage.deleteSession(id).join();
            storage.storeSession(session(id, 20), Duration.ofMinutes(10)).join();
            Files.copy(kept, touchFile(id), StandardCopyOption.REPLACE_EXISTING);

            SessionState read = storage.retrieveSession(id).join().orElseThrow();
            assertThat(read.version()).isEqualTo(1);
            assertThat(read.expiresAt()).as("the record's own expiry").isEqualTo(START.plus(Duration.ofMinutes(10)));
            clock.advance(Duration.ofMinutes(11));
            assertThat(storage.listSessions("touch-user", null).join()).isEmpty();
            assertThat(storage.cleanupExpiredSessions().join()).isEqualTo(1);
        }
    }

    @Test
    void aDamagedTouchFileIsIgnoredAndTheRecordsOwnExpiryHolds() throws IOException {
        try (FileSessionStorage storage = open()) {
            for (String id : List.of("short", "flipped", "empty")) {
                storage.storeSession(session(id, 10), Duration.ofMinutes(10)).join();
                assertThat(storage.touchSession(id, Duration.ofDays(1)).join()).isTrue();
            }
            byte[] good = Files.readAllBytes(touchFile("short"));
            Files.write(touchFile("short"), java.util.Arrays.copyOf(good, TouchFile.LENGTH - 1));
            byte[] flipped = Files.readAllBytes(touchFile("flipped"));
            flipped[20] ^= 0x10; // the expiry: the touch file's own checksum no longer matches
            Files.write(touchFile("flipped"), flipped);
            Files.write(touchFile("empty"), new byte[0]);

            for (String id : List.of("short", "flipped", "empty")) {
                assertThat(storage.retrieveSession(id).join().orElseThrow().expiresAt()).as(id)
                        .isEqualTo(START.plus(Duration.ofMinutes(10)));
            }
            // a touch writes a good one again
            assertThat(storage.touchSession("flipped", Duration.ofDays(2)).join()).isTrue();
            assertThat(storage.retrieveSession("flipped").join().orElseThrow().expiresAt())
                    .isEqualTo(START.plus(Duration.ofDays(2)));
        }
    }

    @Test
    void touchFilesWithoutARecordAndTempFilesOfInterruptedTouchesGoWhenTheDirectoryIsOpened() throws IOException {
        try (FileSessionStorage storage = open()) {
            storage.storeSession(session("kept", 10), Duration.ofMinutes(10)).join();
            assertThat(storage.touchSession("kept", Duration.ofDays(1)).join()).isTrue();
        }
        Path orphan = touchFile("gone");
        Files.write(orphan, new byte[TouchFile.LENGTH]);
        Path temp = root().resolve(FileNames.of("kept") + FileSessionStorage.TOUCH_SUFFIX + ".999999999.ab"
                + FileSessionStorage.TEMP_SUFFIX);
        Files.write(temp, new byte[TouchFile.LENGTH]);
        FileTime old = FileTime.from(Instant.now().minus(Duration.ofHours(2)));
        Files.setLastModifiedTime(orphan, old);
        Files.setLastModifiedTime(touchFile("kept"), old);
        try (FileSessionStorage storage = open()) {
            assertThat(orphan).doesNotExist();
            assertThat(temp).doesNotExist();
            assertThat(touchFile("kept")).as("its record is there").exists();
            assertThat(storage.retrieveSession("kept").join().orElseThrow().expiresAt())
                    .isEqualTo(START.plus(Duration.ofDays(1)));
        }
    }
}
