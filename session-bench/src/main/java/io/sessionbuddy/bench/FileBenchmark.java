package io.sessionbuddy.bench;

import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.file.FileSessionStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The file backend against the plain file I/O that gives the same durability: write a temp file,
 * {@code fsync} it, rename it over the target, {@code fsync} the directory; read with
 * {@code Files.readAllBytes}. Both in one directory under {@code target/}.
 */
@State(Scope.Benchmark)
public class FileBenchmark {
    /** Session JSON size in bytes. */
    @Param({"1024", "16384", "262144"})
    public int size;

    private Path directory;
    private FileSessionStorage storage;
    private SessionState state;
    private byte[] record;
    private Path rawFile;

    @Setup
    public void setUp() throws IOException {
        Path base = Files.createDirectories(Path.of(System.getProperty("bench.dir", "target")).toAbsolutePath()
                .normalize());
        directory = Files.createTempDirectory(base, "file-bench-");
        storage = FileSessionStorage.builder(directory).build();
        state = SessionPayloads.session("bench-file", "user", "project", size, 42);
        record = new SessionRecordCodec(StoredFormat.defaults()).encode(state, "raw");
        Files.createDirectories(directory.resolve("raw"));
        rawFile = directory.resolve("raw").resolve("bench-file.json");
        storage.storeSession(state, null).join();
        storeRaw();
    }

    @TearDown
    public void tearDown() throws IOException {
        storage.close();
        try (var files = Files.walk(directory)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public Boolean store() {
        return storage.storeSession(state, null).join();
    }

    @Benchmark
    public Optional<SessionState> retrieve() {
        return storage.retrieveSession(state.sessionId()).join();
    }

    /**
     * {@link #retrieve}, then every conversation entry looked at: what a read costs a request that
     * uses the conversation (a read alone leaves it unparsed until it is used).
     */
    @Benchmark
    public long retrieveConversation() {
        return SessionPayloads.useConversation(storage.retrieveSession(state.sessionId()).join().orElseThrow());
    }

    @Benchmark
    public void storeRaw() throws IOException {
        writeDurably(rawFile, record);
    }

    /** What a careful raw writer does: temp file, fsync, rename over the target, fsync the directory. */
    static void writeDurably(Path file, byte[] bytes) throws IOException {
        Path temp = file.resolveSibling(file.getFileName() + "." + Thread.currentThread().getId() + ".tmp");
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    /**
     * {@code touchSession}: the new expiry in a small file beside the record (issue #18); its cost
     * should not depend on the session's size.
     */
    @Benchmark
    public Boolean touch() {
        return storage.touchSession(state.sessionId(), java.time.Duration.ofHours(24)).join();
    }

    /** What a touch cost before: read, decode, write the same session back with compare-and-set. */
    @Benchmark
    public Boolean rewrite() {
        SessionState current = storage.retrieveSession(state.sessionId()).join().orElseThrow();
        return storage.replaceSession(current, current.version(), java.time.Duration.ofHours(24)).join();
    }

    @Benchmark
    public byte[] retrieveRaw() throws IOException {
        return Files.readAllBytes(rawFile);
    }
}
