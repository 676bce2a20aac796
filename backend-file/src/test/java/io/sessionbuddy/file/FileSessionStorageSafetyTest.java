package io.sessionbuddy.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;
import java.nio.charset.StandardCharsets;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.testkit.MutableClock;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the file backend promises beyond the contract: crash safety, processes, paths, bad files. */
class FileSessionStorageSafetyTest {
    @TempDir
    Path directory;

    private static SessionState session(String id, String user) {
        return SessionState.builder(id, user, "p").createdAt(Instant.parse("2024-01-01T00:00:00Z")).build();
    }

    private static Throwable failure(Runnable call) {
        try {
            call.run();
        } catch (CompletionException e) {
            return e.getCause();
        } catch (RuntimeException e) {
            return e;
        }
        throw new AssertionError("expected a failure");
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void twoStoragesOnOneDirectoryInOneJvmShareTheirLocks() throws Exception {
        try (FileSessionStorage first = FileSessionStorage.builder(directory).build();
                FileSessionStorage second = FileSessionStorage.builder(directory).build()) {
            io.sessionbuddy.core.SessionManager a = new io.sessionbuddy.core.SessionManager(first);
            io.sessionbuddy.core.SessionManager b = new io.sessionbuddy.core.SessionManager(second);
            String id = a.createSession("u", "p", java.util.Map.of("n", 0), null).join();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    io.sessionbuddy.core.SessionManager manager = t % 2 == 0 ? a : b;
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < 50; i++) {
                            manager.updateSession(id, s -> s.toBuilder().metadata(java.util.Map.of("n",
                                    s.metadata().get("n").asInt() + 1)).build()).join();
                        }
                        return null;
                    }));
                }
                for (java.util.concurrent.Future<?> future : done) {
                    future.get(100, java.util.concurrent.TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(first.retrieveSession(id).join().orElseThrow().metadata().get("n").asInt()).isEqualTo(200);
        }
    }

    @Test
    void anInterruptedCallerNeitherFailsItsWriteNorBreaksTheLockForOthers() throws Exception {
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
            storage.storeSession(session("before", "u"), null).join();
            boolean[] stillInterrupted = {false};
            Throwable[] failed = {null};
            Thread interrupted = new Thread(() -> {
                Thread.currentThread().interrupt();
                try {
                    storage.storeSession(session("during", "u"), null).get(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    failed[0] = null; // get() saw the interrupt after the write completed: fine
                } catch (Exception e) {
                    failed[0] = e;
                }
                stillInterrupted[0] = true;
            });
            interrupted.start();
            interrupted.join(30_000);

            assertThat(failed[0]).isNull();
            assertThat(stillInterrupted[0]).isTrue();
            assertThat(storage.retrieveSession("during").join()).isPresent();
            // the lock file's channel is still open: later writes from other threads work
            storage.storeSession(session("after", "u"), null).join();
            assertThat(storage.listSessions("u", null).join()).containsExactly("after", "before", "during");
        }
    }

    @Test
    void aWriteWhoseDirectorySyncFailsIsReportedUnknownAndTheManagerSettlesIt() {
        java.util.concurrent.atomic.AtomicBoolean failSync = new java.util.concurrent.atomic.AtomicBoolean();
        TempFileWriter flakySync = new TempFileWriter() {
            @Override
            public void write(Path path, byte[] bytes, java.nio.file.attribute.FileAttribute<?>[] attributes)
                    throws java.io.IOException {
                TempFileWriter.DEFAULT.write(path, bytes, attributes);
            }

            @Override
            public void syncDirectory(Path dir) throws java.io.IOException {
                if (failSync.getAndSet(false)) {
                    throw new java.io.IOException("Input/output error");
                }
                TempFileWriter.DEFAULT.syncDirectory(dir);
            }
        };
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).writer(flakySync).build()) {
            io.sessionbuddy.core.SessionManager manager = new io.sessionbuddy.core.SessionManager(storage);
            String id = manager.createSession("u", "p", java.util.Map.of("n", 0), null).join();

            failSync.set(true);
            Throwable unknown = failure(() -> storage.storeSession(storage.retrieveSession(id).join().orElseThrow(),
                    null).join());
            assertThat(unknown).isInstanceOf(io.sessionbuddy.core.SessionOutcomeUnknownException.class)
                    .hasMessageContaining("[file]").hasMessageContaining("could not be synced");

            failSync.set(true);
            manager.updateSession(id, s -> s.toBuilder().metadata(java.util.Map.of("n",
                    s.metadata().get("n").asInt() + 1)).build()).join();
            assertThat(storage.retrieveSession(id).join().orElseThrow().metadata().get("n").asInt())
                    .as("applied once").isEqualTo(1);
        }
    }

    @Test
    void aRestartKeepsSessionsAndTheirTtls() {
        MutableClock clock = MutableClock.ofNow();
        SessionState kept = session("kept", "u");
        SessionState shortLived = session("short", "u");
        try (FileSessionStorage first = FileSessionStorage.builder(directory).clock(clock).build()) {
            first.storeSession(kept, Duration.ofHours(2)).join();
            first.storeSession(shortLived, Duration.ofMinutes(1)).join();
        }

        try (FileSessionStorage second = FileSessionStorage.builder(directory).clock(clock).build()) {
            SessionState read = second.retrieveSession("kept").join().orElseThrow();
            assertThat(read.withExpiresAt(null)).isEqualTo(kept.withExpiresAt(null));
            assertThat(read.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofHours(2)));
            assertThat(second.listSessions("u", null).join()).containsExactly("kept", "short");

            clock.advance(Duration.ofMinutes(2));

            assertThat(second.retrieveSession("short").join()).isEmpty();
            assertThat(second.listSessions("u", null).join()).containsExactly("kept");
            assertThat(second.cleanupExpiredSessions().join()).isEqualTo(1);
            assertThat(Files.exists(second.directory().resolve("short.json"))).isFalse();
        }
    }

    @Test
    void theLayoutIsOneJsonFilePerSessionInTheNamespaceDirectory() throws IOException {
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).namespace("app1").build()) {
            storage.storeSession(session("abc", "u"), null).join();

            Path file = directory.resolve("app1").resolve("abc.json");
            byte[] record = Files.readAllBytes(file);
            assertThat(new String(record, 0, 3, StandardCharsets.US_ASCII)).isEqualTo("SBF");
            assertThat(new SessionRecordCodec(StoredFormat.defaults()).decode(record, "app1", "abc").sessionId())
                    .isEqualTo("abc");
            if (storage.directory().getFileSystem().supportedFileAttributeViews().contains("posix")) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(storage.directory())))
                        .isEqualTo("rwx------");
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
            }
        }
    }

    @Test
    void writesListingsAndCleanupReadTheRecordSummaryInsteadOfDecoding() throws IOException {
        MutableClock clock = MutableClock.ofNow();
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).clock(clock).build()) {
            storage.storeSession(session("s", "u"), null).join();
            storage.storeSession(session("short", "u"), Duration.ofMinutes(1)).join();
            Path file = storage.directory().resolve("s.json");
            byte[] record = Files.readAllBytes(file);
            assertThat(record[3]).as("stored-format version").isEqualTo((byte) 2);
            // Spoil the JSON body (the first byte after the 99-byte header) behind a valid checksum:
            // only a decode can notice.
            assertThat(record[99]).isEqualTo((byte) '{');
            record[99] = 'X';
            Files.write(file, withChecksum(record));

            assertThat(failure(() -> storage.retrieveSession("s").join()))
                    .isInstanceOf(CorruptSessionException.class).hasMessageContaining("not valid JSON");
            assertThat(storage.listSessions("u", null).join()).containsExactly("s", "short");
            assertThat(storage.replaceSession(session("s", "v"), 2, null).join()).as("wrong version").isFalse();
            assertThat(storage.replaceSession(session("s", "v"), 1, null).join()).isTrue();
            assertThat(storage.listSessions("u", null).join()).containsExactly("short");
            assertThat(storage.listSessions("v", null).join()).containsExactly("s");
            assertThat(storage.retrieveSession("s").join()).map(SessionState::userId).contains("v");

            clock.advance(Duration.ofMinutes(2));
            assertThat(storage.cleanupExpiredSessions().join()).isEqualTo(1);
            assertThat(storage.directory().resolve("short.json")).doesNotExist();
        }
    }

    @Test
    void storedFormatVersion1WritesRecordsAnOlderLibraryReadsAndEverythingStillWorks() throws IOException {
        MutableClock clock = MutableClock.ofNow();
        StoredFormat v1 = StoredFormat.defaults().withWriteVersion(1);
        try (FileSessionStorage old = FileSessionStorage.builder(directory).clock(clock).storedFormat(v1).build();
                FileSessionStorage current = FileSessionStorage.builder(directory).clock(clock).build()) {
            old.storeSession(session("a", "u"), null).join();
            current.storeSession(session("b", "u"), null).join();
            assertThat(Files.readAllBytes(old.directory().resolve("a.json"))[3]).isEqualTo((byte) 1);
            assertThat(Files.readAllBytes(old.directory().resolve("b.json"))[3]).isEqualTo((byte) 2);

            // each reads and moves the other's records (a version-1 record is decoded instead)
            old.storeSession(session("b", "w"), null).join();
            current.storeSession(session("a", "w"), null).join();
            assertThat(current.replaceSession(session("b", "x"), 1, null).join()).isTrue();
            assertThat(Files.readAllBytes(old.directory().resolve("b.json"))[3]).isEqualTo((byte) 2);
            assertThat(old.listSessions("u", null).join()).isEmpty();
            assertThat(current.listSessions("w", null).join()).containsExactly("a");
            assertThat(old.listSessions("x", null).join()).containsExactly("b");
            assertThat(old.deleteSession("a").join()).isTrue();
            assertThat(current.listSessions("w", null).join()).isEmpty();
        }
    }

    private static byte[] withChecksum(byte[] record) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(record, 0, record.length - 4);
        java.nio.ByteBuffer.wrap(record, record.length - 4, 4).putInt((int) crc.getValue());
        return record;
    }

    @Test
    void aCheckpointClosesTheLockFileAndWritesAfterTheRestoreOpenItAgain() throws IOException {
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
            storage.storeSession(session("before-snapshot", "u"), null).join();
            assertThat(storage.isLockFileOpen()).isTrue();
            assertThat(openFiles()).anyMatch(f -> f.endsWith(".lock"));

            storage.beforeCheckpoint(null);
            assertThat(storage.isLockFileOpen()).isFalse();
            assertThat(openFiles()).noneMatch(f -> f.endsWith(".lock"));
            storage.afterRestore(null);

            assertThat(storage.storeSession(session("after-restore", "u"), null).join()).isTrue();
            assertThat(storage.isLockFileOpen()).isTrue();
            assertThat(storage.retrieveSession("before-snapshot").join()).isPresent();
            assertThat(storage.retrieveSession("after-restore").join()).isPresent();
            assertThat(storage.listSessions("u", null).join()).containsExactly("after-restore", "before-snapshot");
        }
    }

    /** The files this JVM has open (Linux: /proc/self/fd), or none where that cannot be read. */
    private static List<String> openFiles() throws IOException {
        Path fds = Path.of("/proc/self/fd");
        List<String> files = new ArrayList<>();
        if (!Files.isDirectory(fds)) {
            return files;
        }
        try (Stream<Path> entries = Files.list(fds)) {
            for (Path fd : (Iterable<Path>) entries::iterator) {
                try {
                    files.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return files;
    }

    @Test
    void namespacesAreIsolated() {
        try (FileSessionStorage a = FileSessionStorage.builder(directory).namespace("a").build();
                FileSessionStorage b = FileSessionStorage.builder(directory).namespace("b").build()) {
            a.storeSession(session("s1", "u"), null).join();

            assertThat(b.retrieveSession("s1").join()).isEmpty();
            assertThat(b.listSessions("u", null).join()).isEmpty();
            assertThat(a.listSessions("u", null).join()).containsExactly("s1");
        }
        assertThatThrownBy(() -> FileSessionStorage.builder(directory).namespace("../up"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pathTraversalIdsStayInsideTheirNamespaceAndNulIsRejected() throws IOException {
        Path outside = Files.writeString(directory.resolve("outside.json"), "secret");
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).namespace("ns").build()) {
            for (String id : List.of("../outside", "..", "/etc/passwd", outside.toString(), "a/../../outside",
                    "..\\outside", "ns/../x", "../ns/../../outside")) {
                assertThat(storage.retrieveSession(id).join()).as(id).isEmpty();
                storage.storeSession(session(id, "u"), null).join();
                assertThat(storage.retrieveSession(id).join()).as(id).isPresent();
                assertThat(storage.deleteSession(id).join()).as(id).isTrue();
            }
            for (String id : List.of("nul\u0000../outside", "../outside\u0000", "line\n../x")) {
                assertThatThrownBy(() -> storage.retrieveSession(id)).as(id).isInstanceOf(IllegalArgumentException.class);
                assertThatThrownBy(() -> storage.deleteSession(id)).as(id).isInstanceOf(IllegalArgumentException.class);
            }
        }
        assertThat(Files.readString(outside)).isEqualTo("secret");
        try (java.util.stream.Stream<Path> files = Files.list(directory)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList())
                    .containsExactlyInAnyOrder("outside.json", "ns");
        }
    }

    @Test
    void aSymlinkPlantedInTheDirectoryIsNeitherFollowedOnReadNorWrittenThrough() throws IOException {
        Path secret = Files.writeString(directory.resolve("secret.txt"), "{\"do not\": \"touch\"}");
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).namespace("ns").build()) {
            Files.createSymbolicLink(storage.directory().resolve("planted.json"), secret);

            assertThat(failure(() -> storage.retrieveSession("planted").join()))
                    .isInstanceOf(CorruptSessionException.class).hasMessageContaining("symbolic link");
            assertThat(storage.listSessions(null, null).join()).isEmpty();

            storage.storeSession(session("planted", "u"), null).join();

            assertThat(Files.isSymbolicLink(storage.directory().resolve("planted.json"))).isFalse();
            assertThat(storage.retrieveSession("planted").join()).isPresent();
        }
        assertThat(Files.readString(secret)).isEqualTo("{\"do not\": \"touch\"}");
    }

    @Test
    void corruptAndTruncatedFilesAreReportedSkippedAndNeverCostOtherSessions() throws IOException {
        MutableClock clock = MutableClock.ofNow();
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).clock(clock).build()) {
            storage.storeSession(session("good", "u"), null).join();
            storage.storeSession(session("expiring", "u"), Duration.ofMinutes(1)).join();
            storage.storeSession(session("truncated", "u"), null).join();
            Path truncated = storage.directory().resolve("truncated.json");
            byte[] whole = Files.readAllBytes(truncated);
            Files.write(truncated, Arrays.copyOf(whole, whole.length / 2));
            Path garbage = Files.write(storage.directory().resolve("garbage.json"), new byte[] {0, 1, 2, (byte) 0xff});

            assertThat(failure(() -> storage.retrieveSession("truncated").join()))
                    .isInstanceOf(CorruptSessionException.class).hasMessageContaining(truncated.toString());
            assertThat(failure(() -> storage.retrieveSession("garbage").join()))
                    .isInstanceOf(CorruptSessionException.class).hasMessageContaining(garbage.toString());
            assertThat(storage.listSessions("u", null).join()).containsExactly("expiring", "good");
            assertThat(storage.listSessions(null, null).join()).containsExactly("expiring", "good");

            clock.advance(Duration.ofMinutes(2));

            assertThat(storage.cleanupExpiredSessions().join()).isEqualTo(1);
            assertThat(storage.retrieveSession("good").join()).isPresent();
            assertThat(truncated).exists();
            assertThat(garbage).exists();
        }
    }

    @Test
    void tempFilesLeftByDeadProcessesAreRemovedOnStart() throws IOException {
        Path ns = directory.resolve("default");
        Files.createDirectories(ns);
        Path orphan = Files.writeString(ns.resolve("s1.json.2147483646.abc.tmp"), "{\"half");
        Path live = Files.writeString(ns.resolve("s2.json." + ProcessHandle.current().pid() + ".def.tmp"), "{");
        Path ancient = Files.writeString(ns.resolve("s3.json." + ProcessHandle.current().pid() + ".123.tmp"), "{");
        Files.setLastModifiedTime(ancient, FileTime.from(Instant.now().minus(Duration.ofDays(1))));

        try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
            assertThat(orphan).doesNotExist();
            assertThat(ancient).doesNotExist();
            assertThat(live).exists();
            assertThat(storage.listSessions(null, null).join()).isEmpty();
        }
    }

    @Test
    void aWriteThatFailsPartWayLeavesThePreviousVersionAndNoTempFile() throws IOException {
        TempFileWriter diskFull = (path, bytes, attributes) -> {
            Files.write(path, Arrays.copyOf(bytes, bytes.length / 2));
            throw new IOException("No space left on device");
        };
        SessionState v1 = session("s", "u");
        try (FileSessionStorage healthy = FileSessionStorage.builder(directory).build()) {
            healthy.storeSession(v1, null).join();
        }
        try (FileSessionStorage failing = FileSessionStorage.builder(directory).writer(diskFull).build()) {
            Throwable error = failure(() -> failing.storeSession(v1.toBuilder().version(2).build(), null).join());

            assertThat(error).isInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("No space left on device").hasMessageContaining(failing.directory().toString());
            assertThat(failing.retrieveSession("s").join().orElseThrow().version()).isEqualTo(1);
            try (Stream<Path> files = Files.list(failing.directory())) {
                assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
            }
        }
    }

    /** As root on a real 256 KiB tmpfs; otherwise through the failing-writer seam. */
    @Test
    @Timeout(120)
    void aFullDiskFailsClearlyAndKeepsThePreviousVersion() throws Exception {
        TempFileWriter writer = FileSystemFixture.realReadOnlyMount() ? TempFileWriter.DEFAULT
                : (path, bytes, attributes) -> {
                    if (bytes.length > 256 * 1024) {
                        throw new IOException("No space left on device");
                    }
                    TempFileWriter.DEFAULT.write(path, bytes, attributes);
                };
        try (FileSystemFixture disk = FileSystemFixture.tinyDisk(directory.resolve("mnt"), 256 * 1024)) {
            try (FileSessionStorage storage = FileSessionStorage.builder(disk.path()).writer(writer).build()) {
                SessionState v1 = session("s", "u");
                storage.storeSession(v1, null).join();
                byte[] noise = new byte[768 * 1024];
                new Random(1).nextBytes(noise);
                // random base64 does not compress below the 256 KiB disk
                SessionState big = v1.toBuilder().version(2)
                        .metadata(Map.of("blob", Base64.getEncoder().encodeToString(noise))).build();

                Throwable error = failure(() -> storage.storeSession(big, null).join());

                assertThat(error).isInstanceOf(SessionStorageException.class)
                        .hasMessageContaining(storage.directory().toString())
                        .hasMessageContaining("No space left on device");
                assertThat(storage.retrieveSession("s").join().orElseThrow().version()).isEqualTo(1);
                try (Stream<Path> files = Files.list(storage.directory())) {
                    assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
                }
            }
        }
    }

    @Test
    @Timeout(120)
    void aReadOnlyDirectoryFailsClearlyAndKeepsThePreviousVersion() throws Exception {
        try (FileSystemFixture disk = FileSystemFixture.tinyDisk(directory.resolve("ro"), 4 * 1024 * 1024)) {
            Path namespaceDirectory;
            try (FileSessionStorage writable = FileSessionStorage.builder(disk.path()).build()) {
                writable.storeSession(session("s", "u"), null).join();
                namespaceDirectory = writable.directory();
            }
            disk.makeReadOnly(namespaceDirectory);

            try (FileSessionStorage storage = FileSessionStorage.builder(disk.path()).build()) {
                assertThat(storage.retrieveSession("s").join().orElseThrow().version()).isEqualTo(1);
                assertThat(storage.listSessions("u", null).join()).containsExactly("s");

                Throwable error = failure(() -> storage.storeSession(session("s", "u").toBuilder().version(9).build(), null)
                        .join());

                assertThat(error).isInstanceOf(SessionStorageException.class)
                        .hasMessageContaining(storage.directory().toString())
                        .hasMessageMatching("(?s).*(Read-only file system|Permission denied).*");
                assertThat(storage.retrieveSession("s").join().orElseThrow().version()).isEqualTo(1);
                assertThat(failure(() -> storage.deleteSession("s").join())).isInstanceOf(SessionStorageException.class);
                assertThat(storage.retrieveSession("s").join()).isPresent();
            }
        }
    }

    @Test
    @Timeout(60)
    void permissionDeniedFailsClearlyAndKeepsThePreviousVersion() throws Exception {
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
            storage.storeSession(session("s", "u"), null).join();
            try (FileSystemFixture denied = FileSystemFixture.denyWrites(storage.directory())) {
                Throwable error = failure(() -> storage.storeSession(session("s", "u").toBuilder().version(5).build(), null)
                        .join());

                assertThat(error).isInstanceOf(SessionStorageException.class)
                        .hasMessageContaining(storage.directory().toString())
                        .hasMessageMatching("(?s).*(Permission denied|Operation not permitted).*");
                assertThat(storage.retrieveSession("s").join().orElseThrow().version()).isEqualTo(1);
            }
        }
    }

    @Test
    @Timeout(120)
    void aWriterKilledMidStreamLeavesEverySessionReadable() throws Exception {
        for (int round = 0; round < 3; round++) {
            Process writer = startChild("write", directory.toString());
            try (BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(), StandardCharsets.UTF_8))) {
                int progressLines = 0;
                String line;
                while (progressLines < 5 + round * 3 && (line = out.readLine()) != null) {
                    if (line.startsWith("wrote")) {
                        progressLines++;
                    }
                }
                assertThat(progressLines).as("the writer made progress").isGreaterThanOrEqualTo(5);
                writer.destroyForcibly();
                assertThat(writer.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }

            try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
                List<String> ids = storage.listSessions(null, null).join();
                try (Stream<Path> files = Files.list(storage.directory())) {
                    List<Path> all = files.toList();
                    assertThat(all).noneMatch(p -> p.toString().endsWith(".tmp"));
                    assertThat(all.stream().filter(p -> p.toString().endsWith(".json"))).hasSameSizeAs(ids);
                }
                assertThat(ids).isNotEmpty();
                for (String id : ids) {
                    SessionState state = storage.retrieveSession(id).join().orElseThrow();
                    assertThat(state.metadata().get("payload").asText()).hasSize(64 * 1024);
                }
                int perUser = 0;
                for (String user : List.of("user-0", "user-1", "user-2")) {
                    perUser += storage.listSessions(user, null).join().size();
                }
                assertThat(perUser).isEqualTo(ids.size());
            }
        }
    }

    @Test
    @Timeout(300)
    void twoProcessesIncrementingOneSessionLoseNoUpdate() throws Exception {
        String id;
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
            id = new SessionManager(storage).createSession("u", "p", Map.of("count", 0), null).join();
        }
        List<Process> children = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            children.add(startChild("increment", directory.toString(), id, "500"));
        }
        for (Process child : children) {
            String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(child.waitFor(240, TimeUnit.SECONDS)).isTrue();
            assertThat(child.exitValue()).as(output).isZero();
        }

        try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
            SessionState end = new SessionManager(storage, SessionBuddyConfig.defaults(), java.time.Clock.systemUTC())
                    .getSession(id).join().orElseThrow();
            assertThat(end.metadata().get("count").asInt()).isEqualTo(1000);
            assertThat(end.version()).isEqualTo(1001);
        }
    }

    private static Process startChild(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                FileStoreChildProcess.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }
}
