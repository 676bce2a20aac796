package io.sessionbuddy.file;

import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionOutcomeUnknownException;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.SessionRecordCodec.Summary;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.spi.AbstractSessionStorage;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions as files on local disk: {@code <directory>/<namespace>/<session id>.json}.
 *
 * <p><b>Durable, atomic writes.</b> A write goes to a temp file in the same directory, is
 * {@code fsync}ed, renamed over the session file ({@code ATOMIC_MOVE}), and the directory is
 * {@code fsync}ed. A crash at any moment leaves the old or the new version, never a torn file.
 * Temp files left by dead processes are removed on start.
 *
 * <p><b>Concurrency.</b> Every write of a session holds a lock for its id: an in-JVM lock stripe
 * plus a byte-range lock ({@link FileChannel#lock}) on {@code .lock} in the namespace directory,
 * so compare-and-set is correct across threads and across processes sharing the directory.
 * Reads take no lock (a rename is atomic).
 *
 * <p><b>Indexes.</b> User and project indexes live on disk as empty marker files
 * {@code .index/users/<sha256(user)>/<id>} and {@code .index/projects/<sha256(project)>/<id>},
 * written under the session's lock before its data. Every process sees every other's writes at
 * once; listing reads only the candidates' files (to drop expired or stale entries) and never
 * every session. Cleanup removes expired sessions and repairs markers.
 *
 * <p><b>Metadata without decoding.</b> Records carry a summary in their envelope header (stored
 * format version 2: version, expiry, SHA-256 of user and project), so writes (the previous
 * owner, the compare-and-set version), deletes, listings and cleanup read it after the checksum
 * instead of decompressing and parsing the session. Records without one (version 1, written
 * with {@code stored_format_version: 1} or by an older library, and plain JSON) are decoded.
 *
 * <p><b>Safety.</b> Ids are validated before a path is built; a session file that is a symbolic
 * link is refused. A corrupt file is reported once (with its path), fails {@code retrieveSession}
 * with {@link CorruptSessionException}, and is skipped by list and cleanup; nothing else is
 * touched. I/O errors (disk full, read-only directory, permission denied) fail with
 * {@link SessionStorageException} naming the path, and the previous version stays intact.
 *
 * <p>File I/O runs on the calling thread; the returned futures are already complete.
 *
 * <p><b>Snapshot and restore</b> (CRaC, AWS Lambda SnapStart): the storage registers itself with
 * {@code org.crac}'s global context; before a checkpoint it waits for writes in progress and closes
 * its lock file (an open file fails a CRaC checkpoint), which the next write opens again.
 */
public final class FileSessionStorage extends AbstractSessionStorage implements org.crac.Resource {
    /** The default base directory. */
    public static final Path DEFAULT_DIRECTORY = Path.of("sessions");
    /** The default namespace. */
    public static final String DEFAULT_NAMESPACE = "default";

    static final String SUFFIX = ".json";
    static final String TEMP_SUFFIX = ".tmp";
    /** Beside the record of a session whose file name is a hash ({@link FileNames}): the id, in UTF-8. */
    static final String ID_SUFFIX = ".id";
    /**
     * Beside the record of a touched session: the expiry a touch gave it, bound to the record's
     * version and checksum ({@link TouchFile}).
     */
    static final String TOUCH_SUFFIX = ".touch";
    static final String INDEX_DIR = ".index";
    static final String LOCK_FILE = ".lock";
    private static final Duration ORPHAN_TEMP_AGE = Duration.ofHours(1);
    private static final Logger LOG = LoggerFactory.getLogger(FileSessionStorage.class);

    private final Path root;
    private final Path usersIndex;
    private final Path projectsIndex;
    private final boolean posix;
    private final TempFileWriter writer;
    private final Set<String> reportedCorrupt = ConcurrentHashMap.newKeySet();
    private final DirectoryLocks locks;

    private FileSessionStorage(Builder builder) {
        super(FileStorageProvider.NAME, builder.defaultTtl, builder.clock, builder.storedFormat, true, builder.namespace);
        this.root = builder.directory.toAbsolutePath().normalize().resolve(builder.namespace);
        this.usersIndex = root.resolve(INDEX_DIR).resolve("users");
        this.projectsIndex = root.resolve(INDEX_DIR).resolve("projects");
        this.writer = builder.writer;
        this.posix = root.getFileSystem().supportedFileAttributeViews().contains("posix");
        try {
            createPrivateDirectories(usersIndex);
            createPrivateDirectories(projectsIndex);
        } catch (IOException e) {
            throw new SessionStorageException(FileStorageProvider.NAME, null,
                    "cannot open session directory " + root + ": " + describe(e), e);
        }
        Path lockDir;
        try {
            lockDir = root.toRealPath();
        } catch (IOException e) {
            lockDir = root;
        }
        this.locks = DirectoryLocks.acquire(lockDir.resolve(LOCK_FILE), fileAttributes(false));
        removeOrphanTempFiles();
        org.crac.Core.getGlobalContext().register(this); // held weakly: this storage keeps it alive
        LOG.debug("file session store at {}", root);
    }

    /**
     * Before a checkpoint: waits for writes in progress and closes the lock file (shared by every
     * storage on this directory in the JVM); the next write opens it again.
     */
    @Override
    public void beforeCheckpoint(org.crac.Context<? extends org.crac.Resource> context) {
        locks.closeForCheckpoint();
    }

    /** Nothing to do: the next write opens the lock file. */
    @Override
    public void afterRestore(org.crac.Context<? extends org.crac.Resource> context) {
    }

    /** Whether the lock file is open now (for tests). */
    boolean isLockFileOpen() {
        return locks.isLockFileOpen();
    }

    /**
     * A builder for a store under {@code directory}.
     *
     * @param directory the store's directory
     * @return the builder
     */
    public static Builder builder(Path directory) {
        return new Builder(directory);
    }

    /**
     * Whether {@code namespace} is an acceptable directory name.
     *
     * @param namespace a candidate namespace
     * @return whether it is acceptable
     */
    public static boolean isValidNamespace(String namespace) {
        return SessionIds.isPlainName(namespace) && !namespace.equals(".") && !namespace.equals("..");
    }

    /**
     * The namespace directory that holds the session files.
     *
     * @return the namespace directory that holds the session files
     */
    public Path directory() {
        return root;
    }

    @Override
    protected CompletableFuture<Void> doStore(SessionState state, byte[] record, Duration ttl) {
        String id = state.sessionId();
        return run(id, () -> withLock(id, () -> {
            Optional<Summary> old = headQuietly(id);
            write(state, record);
            old.ifPresent(previous -> removeMarkersIfMoved(previous, state));
            return null;
        }));
    }

    @Override
    protected boolean readsSummaries() {
        return true;
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        return run(sessionId, () -> read(sessionId));
    }

    @Override
    protected CompletableFuture<Boolean> doDelete(String sessionId) {
        return run(sessionId, () -> withLock(sessionId, () -> {
            Optional<Summary> old = headQuietly(sessionId);
            Path file = sessionFile(sessionId);
            boolean existed = Files.deleteIfExists(file);
            if (existed) {
                syncDirectory(root);
            }
            deleteTouch(file);
            deleteIdFile(sessionId);
            old.ifPresent(previous -> removeMarkers(previous, sessionId));
            return existed && old.map(s -> !isExpired(s)).orElse(true);
        }));
    }

    /**
     * The original store's file layouts in the configured directory: its {@code <id>.json.gz} files
     * (the original's {@code local} config opens this backend on its {@code storage_dir}) and the
     * storage adapter's {@code sessions/<id>/state.json}.
     */
    @Override
    public CompletableFuture<List<String>> otherLayouts() {
        Path directory = root.getParent();
        return run(null, () -> {
            List<String> found = new ArrayList<>();
            List<Path> gz = new ArrayList<>();
            List<Path> adapter = new ArrayList<>();
            if (Files.isDirectory(directory, LinkOption.NOFOLLOW_LINKS)) {
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory, "*.json.gz")) {
                    entries.forEach(gz::add);
                }
            }
            Path adapterDir = directory.resolve("sessions");
            if (Files.isDirectory(adapterDir, LinkOption.NOFOLLOW_LINKS)) {
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(adapterDir)) {
                    for (Path entry : entries) {
                        if (Files.isRegularFile(entry.resolve("state.json"), LinkOption.NOFOLLOW_LINKS)) {
                            adapter.add(entry.resolve("state.json"));
                        }
                    }
                }
            }
            if (!gz.isEmpty()) {
                found.add(gz.size() + " files of the original Python store's local layout (e.g. "
                        + gz.stream().sorted().findFirst().orElseThrow() + "): read them with \"storage_backend\":"
                        + " \"legacy-file\" (setting directory: " + directory + ")");
            }
            if (!adapter.isEmpty()) {
                found.add(adapter.size() + " sessions of the original's storage adapter layout (e.g. "
                        + adapter.stream().sorted().findFirst().orElseThrow() + "): read them with \"storage_backend\":"
                        + " \"legacy-adapter\" (setting data_dir: " + directory + ")");
            }
            return List.copyOf(found);
        });
    }

    @Override
    protected CompletableFuture<List<String>> doListStoredIds() {
        return run(null, () -> allSessionIds().stream().sorted().toList());
    }

    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        return run(null, () -> {
            List<String> live = liveOf(candidates(userId, projectId), userId, projectId);
            live.sort(io.sessionbuddy.core.SessionPage.ORDER);
            return live;
        });
    }

    /**
     * A page from the index directory's entries (names only, sorted): only the candidates the page
     * needs are read, not every session of the filter. Without a filter: the default.
     */
    @Override
    protected CompletableFuture<io.sessionbuddy.core.SessionPage> doListPage(String userId, String projectId,
            String lastId, int limit) {
        if (userId == null && projectId == null) {
            return super.doListPage(userId, projectId, lastId, limit);
        }
        return run(null, () -> pageFromIndex(lastId, limit,
                PageCandidates.<IOException>fromSorted(
                        io.sessionbuddy.core.SessionPage.idsAfter(candidates(userId, projectId), lastId)),
                batch -> liveOf(batch, userId, projectId)));
    }

    /** The ids the filter's index names (with both filters, those both name; without, every record). */
    private Set<String> candidates(String userId, String projectId) throws IOException {
        Set<String> candidates;
        if (userId != null && projectId != null) {
            candidates = markers(usersIndex, userId);
            candidates.retainAll(markers(projectsIndex, projectId));
        } else if (userId != null) {
            candidates = markers(usersIndex, userId);
        } else if (projectId != null) {
            candidates = markers(projectsIndex, projectId);
        } else {
            candidates = allSessionIds();
        }
        return candidates;
    }

    /** The live sessions of the filter among {@code candidates}, in their order (one header read each). */
    private List<String> liveOf(Collection<String> candidates, String userId, String projectId) {
        List<String> live = new ArrayList<>();
        String userHash = userId == null ? null : hash(userId);
        String projectHash = projectId == null ? null : hash(projectId);
        for (String id : candidates) {
            Optional<Summary> head = headQuietly(id);
            if (head.isPresent() && !isExpired(head.get())
                    && (userHash == null || head.get().userHash().equals(userHash))
                    && (projectHash == null || head.get().projectHash().equals(projectHash))) {
                live.add(id);
            }
        }
        return live;
    }

    @Override
    protected CompletableFuture<Integer> doCleanup() {
        return run(null, () -> {
            int removed = 0;
            Map<String, Summary> live = new HashMap<>();
            for (String id : allSessionIds()) {
                Optional<Summary> state = headQuietly(id);
                if (state.isEmpty()) {
                    continue;
                }
                if (isExpired(state.get())) {
                    if (removeIfExpired(id) && !state.get().isRotationMarker()) {
                        removed++; // a rotation's marker is removed, not counted: it is not a session
                    }
                } else {
                    live.put(id, state.get());
                }
            }
            int repaired = sweepMarkers(usersIndex, live, true) + sweepMarkers(projectsIndex, live, false);
            if (repaired > 0) {
                observers().indexRepaired(FileStorageProvider.NAME, repaired);
            }
            return removed;
        });
    }

    @Override
    protected CompletableFuture<Boolean> doPing() {
        return run(null, () -> {
            if (!Files.isDirectory(root) || !Files.isWritable(root)) {
                throw failure(null, "session directory " + root + " is missing or not writable", null);
            }
            return true;
        });
    }

    @Override
    protected CompletableFuture<Boolean> doReplace(SessionState state, byte[] record, long expectedVersion,
            Duration ttl) {
        String id = state.sessionId();
        return run(id, () -> withLock(id, () -> {
            Optional<Summary> old = head(id);
            if (old.isEmpty() || isExpired(old.get()) || old.get().version() != expectedVersion) {
                return false;
            }
            write(state, record);
            removeMarkersIfMoved(old.get(), state);
            return true;
        }));
    }

    /**
     * A touch without rewriting the record: under the session's lock, reads the record's header
     * (no decoding when it has a summary), and writes the new expiry to a small file beside it
     * ({@link TouchFile}: the record's version and checksum, and the expiry), atomically (a temp
     * file forced to disk, renamed, the directory synced). Reads apply it to that record only; the
     * next write of the session replaces the record and removes it. The cost does not depend on the
     * session's size beyond reading it once for the checksum.
     */
    @Override
    protected CompletableFuture<Boolean> doTouch(String sessionId, Instant expiresAt, Duration ttl) {
        return run(sessionId, () -> withLock(sessionId, () -> {
            Path file = sessionFile(sessionId);
            Path touchFile = touchFileOf(file);
            TouchFile earlier = readTouch(touchFile);
            byte[] bytes = readFile(sessionId, file);
            if (bytes == null) {
                return false;
            }
            Summary now = summaryOf(sessionId, bytes, earlier, "session file " + file);
            if (isExpired(now) || now.isRotationMarker()) {
                return false; // gone, or a rotation's marker: not a session to extend
            }
            replaceFile(touchFile, touchFile.getFileName().toString(),
                    TouchFile.of(now.version(), bytes, expiresAt).bytes(), sessionId);
            return true;
        }));
    }

    @Override
    protected void doClose() {
        locks.release();
    }

    // ---- reading ----

    /**
     * The session, with the expiry of a touch of this very record applied. The touch file is read
     * before the record: a writer replaces the record before it removes the touch file, so a reader
     * that finds no touch file reads the new record, never the old one without its touch.
     */
    private Optional<SessionState> read(String id) throws IOException {
        Path file = sessionFile(id);
        TouchFile touch = readTouch(touchFileOf(file));
        byte[] bytes = readFile(id, file);
        if (bytes == null) {
            return Optional.empty();
        }
        SessionState state = decode(id, bytes, "session file " + file);
        return Optional.of(touch != null && touch.appliesTo(state.version(), bytes)
                ? state.withExpiresAt(touch.expiresAt()) : state);
    }

    /**
     * The record's version, expiry (a touch's, when one applies) and owners: from the summary in
     * its header (no decoding) when it has one, else decoded.
     */
    private Optional<Summary> head(String id) throws IOException {
        Path file = sessionFile(id);
        TouchFile touch = readTouch(touchFileOf(file));
        byte[] bytes = readFile(id, file);
        return bytes == null ? Optional.empty() : Optional.of(summaryOf(id, bytes, touch, "session file " + file));
    }

    private Summary summaryOf(String id, byte[] bytes, TouchFile touch, String location) {
        Summary summary = summary(id, bytes, location).orElse(null);
        if (summary == null) {
            SessionState state = decode(id, bytes, location);
            summary = new Summary(state.version(), state.expiresAt(), hash(state.userId()), hash(state.projectId()));
        }
        return touch != null && touch.appliesTo(summary.version(), bytes)
                ? new Summary(summary.version(), touch.expiresAt(), summary.userHash(), summary.projectHash())
                : summary;
    }

    /**
     * The touch file of a session, or {@code null} when there is none or it cannot be read (then
     * the record's own expiry holds; an unreadable one is logged once). Looked for with one
     * {@code stat}: every read pays it (about 1 µs).
     */
    private TouchFile readTouch(Path file) {
        if (!Files.exists(file)) { // a stat, ~1 µs, no exception when absent (a symbolic link is refused below)
            return null;
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(TouchFile.LENGTH + 1);
            while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
                // read until full or end of file
            }
            TouchFile touch = TouchFile.parse(buffer.array(), buffer.position());
            if (touch == null && reportedCorrupt.add(file + "|" + lastModified(file))) {
                LOG.warn("[file] ignoring damaged touch file {}: the record's own expiry holds", file);
            }
            return touch;
        } catch (NoSuchFileException e) {
            return null; // removed by a writer since the stat
        } catch (IOException e) {
            if (reportedCorrupt.add(file + "|" + lastModified(file))) {
                LOG.warn("[file] ignoring unreadable touch file {}: {}", file, describe(e));
            }
            return null;
        }
    }

    /** The touch file beside the session file {@code record} ({@code <name>.json} → {@code <name>.touch}). */
    private static Path touchFileOf(Path record) {
        String name = record.getFileName().toString();
        return record.resolveSibling(name.substring(0, name.length() - SUFFIX.length()) + TOUCH_SUFFIX);
    }

    /** Removes a session's touch file, once its record (at {@code record}) was replaced or removed. */
    private void deleteTouch(Path record) {
        Path file = touchFileOf(record);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // bound to the record it was written for, a stale one is never applied to another
            LOG.warn("[file] could not remove {}: {}", file, describe(e));
        }
    }

    /** The file's bytes, or {@code null} when there is no file. */
    private byte[] readFile(String id, Path file) throws IOException {
        try {
            return readBounded(id, file);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            // opened without following links (O_NOFOLLOW; the JDK reports ELOOP as a plain
            // IOException): one system call less than an lstat before every read
            if (Files.isSymbolicLink(file)) {
                throw new CorruptSessionException(FileStorageProvider.NAME, id,
                        "refusing to follow symbolic link " + file, null);
            }
            throw e;
        }
    }

    /** The file's bytes, refusing (before reading) a file larger than any record this store writes. */
    private byte[] readBounded(String id, Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long size = channel.size();
            if (size > maxRecordBytes()) {
                throw recordTooLarge(id, size, "session file " + file);
            }
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate((int) size);
            while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
                // read until full or end of file
            }
            return buffer.position() == buffer.capacity() ? buffer.array()
                    : java.util.Arrays.copyOf(buffer.array(), buffer.position());
        }
    }

    /** Like {@link #head} but a corrupt or unreadable file is reported once and read as absent. */
    private Optional<Summary> headQuietly(String id) {
        try {
            return head(id);
        } catch (IOException | SessionStorageException e) {
            reportUnreadable(id, e);
            return Optional.empty();
        }
    }

    /** Logs an unreadable session file once (per version of the file). */
    private void reportUnreadable(String id, Exception e) {
        Path file = sessionFile(id);
        String fingerprint = file + "|" + lastModified(file);
        if (reportedCorrupt.add(fingerprint)) {
            LOG.warn("[file] skipping unreadable session file {}: {}", file, e.getMessage());
        }
    }

    /**
     * The state as index repair needs it: empty when there is no file, {@code null} when there is
     * one that cannot be read (reported once), since only an absent or expired session may lose its
     * index markers.
     */
    private Optional<Summary> headForRepair(String id) {
        try {
            return head(id);
        } catch (IOException | SessionStorageException e) {
            reportUnreadable(id, e);
            return null;
        }
    }

    private Set<String> allSessionIds() throws IOException {
        Set<String> ids = new LinkedHashSet<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(root, "*" + SUFFIX)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String id = idOfName(name.substring(0, name.length() - SUFFIX.length()));
                if (id != null) {
                    ids.add(id);
                }
            }
        }
        return ids;
    }

    /**
     * The session id of a file name (of a record or an index marker, without suffix), or
     * {@code null} when the name is none this store writes: reversed from the name, or for a hashed
     * name read from the {@link #ID_SUFFIX} file beside the record.
     */
    private String idOfName(String name) {
        String id = FileNames.id(name);
        if (id != null || !FileNames.isHashed(name)) {
            return id;
        }
        Path file = root.resolve(name + ID_SUFFIX);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            if (channel.size() > SessionIds.MAX_UTF8_BYTES) {
                return null;
            }
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate((int) channel.size());
            while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
                // read until full or end of file
            }
            String stored = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(buffer.array(), 0, buffer.position())).toString();
            return SessionIds.isValid(stored) && FileNames.of(stored).equals(name) ? stored : null;
        } catch (IOException e) {
            return null; // no id file (a write cut short before it, or a foreign file): not a session here
        }
    }

    /**
     * For a session whose file name is a hash: writes its id beside the record (before the record, so
     * that a record is never there without it), unless it is there already.
     */
    private void writeIdFile(String name, String id) throws IOException {
        Path file = root.resolve(name + ID_SUFFIX);
        if (id.equals(idOfName(name))) {
            return;
        }
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("the id file " + file + " names another session (a SHA-256 collision or a foreign"
                    + " file): not overwritten");
        }
        Path temp = root.resolve(name + ID_SUFFIX + "." + ProcessHandle.current().pid() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE) + TEMP_SUFFIX);
        try {
            writer.write(temp, id.getBytes(java.nio.charset.StandardCharsets.UTF_8), fileAttributes(false));
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    /** Removes the id file of a hashed name, once its record is gone. */
    private void deleteIdFile(String id) {
        String name = FileNames.of(id);
        if (FileNames.isHashed(name)) {
            try {
                Files.deleteIfExists(root.resolve(name + ID_SUFFIX));
            } catch (IOException e) {
                LOG.warn("[file] could not remove {}: {}", root.resolve(name + ID_SUFFIX), describe(e));
            }
        }
    }

    // ---- writing ----

    private void write(SessionState state, byte[] record) throws IOException {
        addMarker(usersIndex, hash(state.userId()), state.sessionId());
        addMarker(projectsIndex, hash(state.projectId()), state.sessionId());
        Path target = sessionFile(state.sessionId());
        String name = FileNames.of(state.sessionId());
        if (FileNames.isHashed(name)) {
            writeIdFile(name, state.sessionId());
        }
        replaceFile(target, name + SUFFIX, record, state.sessionId());
        deleteTouch(target); // after the record: see read()
    }

    /**
     * Puts {@code bytes} at {@code target} atomically and durably: a temp file named after
     * {@code tempBase} forced to disk, renamed over the target, the directory synced.
     */
    private void replaceFile(Path target, String tempBase, byte[] bytes, String id) throws IOException {
        Path temp = root.resolve(tempBase + "." + ProcessHandle.current().pid() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE) + TEMP_SUFFIX);
        try {
            writer.write(temp, bytes, fileAttributes(false));
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        try {
            syncDirectory(root);
        } catch (IOException e) {
            // The rename is done and visible, but may not survive a crash: neither stored nor not.
            throw new SessionOutcomeUnknownException(FileStorageProvider.NAME, id, "written to "
                    + target + ", but the directory could not be synced (" + describe(e) + "): the write may not"
                    + " survive a crash", e);
        }
    }

    private boolean removeIfExpired(String id) throws IOException {
        return withLock(id, () -> {
            Optional<Summary> state = headQuietly(id);
            if (state.isEmpty() || !isExpired(state.get())) {
                return false;
            }
            // the owner, for the expired event: decoded only here, at cleanup, and only when observed
            Optional<SessionState> owner = Optional.empty();
            try {
                owner = isObserved() ? read(id) : Optional.empty();
            } catch (IOException | SessionStorageException e) {
                // the event goes out without the owner
            }
            Path file = sessionFile(id);
            boolean deleted = Files.deleteIfExists(file);
            syncDirectory(root);
            deleteTouch(file);
            deleteIdFile(id);
            if (deleted) {
                observers().sessionExpired(FileStorageProvider.NAME, id, owner.map(SessionState::userId).orElse(null),
                        owner.map(SessionState::projectId).orElse(null));
            }
            removeMarkers(state.get(), id);
            return deleted;
        });
    }

    // ---- index markers ----

    private void addMarker(Path index, String keyHash, String id) throws IOException {
        Path dir = index.resolve(keyHash);
        Path marker = dir.resolve(FileNames.of(id));
        if (Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        for (int attempt = 0; ; attempt++) {
            try {
                Files.createDirectories(dir);
                if (Files.isSymbolicLink(dir)) {
                    throw new IOException("index directory " + dir + " is a symbolic link");
                }
                Files.createFile(marker, fileAttributes(false));
                break;
            } catch (FileAlreadyExistsException e) {
                break;
            } catch (NoSuchFileException e) {
                // A concurrent cleanup removed the empty directory between the two calls: again.
                if (attempt >= 3) {
                    throw e;
                }
            }
        }
        syncDirectory(dir);
    }

    private void removeMarkersIfMoved(Summary previous, SessionState next) {
        String userHash = hash(next.userId());
        if (!previous.userHash().equals(userHash)) {
            removeMarker(usersIndex, previous.userHash(), next.sessionId());
        }
        if (!previous.projectHash().equals(hash(next.projectId()))) {
            removeMarker(projectsIndex, previous.projectHash(), next.sessionId());
        }
    }

    private void removeMarkers(Summary state, String id) {
        removeMarker(usersIndex, state.userHash(), id);
        removeMarker(projectsIndex, state.projectHash(), id);
    }

    private void removeMarker(Path index, String keyHash, String id) {
        Path marker = index.resolve(keyHash).resolve(FileNames.of(id));
        try {
            Files.deleteIfExists(marker);
        } catch (IOException e) {
            // A stale marker only costs a read at listing time; cleanup retries.
            LOG.warn("[file] could not remove index entry {}: {}", marker, describe(e));
        }
    }

    private Set<String> markers(Path index, String key) throws IOException {
        Set<String> ids = new LinkedHashSet<>();
        Path dir = index.resolve(hash(key));
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                String id = idOfName(entry.getFileName().toString());
                if (id != null) {
                    ids.add(id);
                }
            }
        } catch (NoSuchFileException e) {
            return ids;
        }
        return ids;
    }

    /** Removes markers of gone, expired or moved sessions, adds missing ones, drops empty directories. */
    /** Returns how many markers it removed or added. */
    private int sweepMarkers(Path index, Map<String, Summary> live, boolean users) throws IOException {
        Set<String> present = new java.util.HashSet<>();
        int[] repaired = {0};
        try (DirectoryStream<Path> keys = Files.newDirectoryStream(index)) {
            for (Path keyDir : keys) {
                if (!Files.isDirectory(keyDir, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                String keyHash = keyDir.getFileName().toString();
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(keyDir)) {
                    for (Path entry : entries) {
                        String id = idOfName(entry.getFileName().toString());
                        if (id == null) {
                            if (Files.deleteIfExists(entry)) { // not a marker of a session that is here
                                repaired[0]++;
                            }
                            continue;
                        }
                        Summary state = live.get(id);
                        if (state != null && (users ? state.userHash() : state.projectHash()).equals(keyHash)) {
                            present.add(id);
                            continue;
                        }
                        withLock(id, () -> {
                            // Re-check under the lock: a writer may be adding this very session.
                            Optional<Summary> now = headForRepair(id);
                            if (now == null) {
                                return null; // cannot be read (a missing key, damage): not gone, keep its marker
                            }
                            boolean belongs = now.isPresent() && !isExpired(now.get())
                                    && (users ? now.get().userHash() : now.get().projectHash()).equals(keyHash);
                            if (!belongs && Files.deleteIfExists(entry)) {
                                repaired[0]++;
                            }
                            return null;
                        });
                    }
                }
                try {
                    Files.deleteIfExists(keyDir);
                } catch (java.nio.file.DirectoryNotEmptyException e) {
                    // still in use
                }
            }
        }
        for (Map.Entry<String, Summary> entry : live.entrySet()) {
            if (!present.contains(entry.getKey())) {
                withLock(entry.getKey(), () -> {
                    Optional<Summary> now = headQuietly(entry.getKey());
                    if (now.isPresent() && !isExpired(now.get())) {
                        addMarker(index, users ? now.get().userHash() : now.get().projectHash(), entry.getKey());
                        repaired[0]++;
                    }
                    return null;
                });
            }
        }
        return repaired[0];
    }

    // ---- locking ----

    private <T> T withLock(String id, IoAction<T> action) throws IOException {
        return locks.withLock(id, action);
    }

    // ---- helpers ----

    private Path sessionFile(String id) {
        Path file = root.resolve(FileNames.of(SessionIds.requireValid(id)) + SUFFIX);
        if (!file.getParent().equals(root)) {
            throw new IllegalArgumentException("session id " + id + " resolves outside " + root);
        }
        return file;
    }

    private void createPrivateDirectories(Path dir) throws IOException {
        Files.createDirectories(dir, fileAttributes(true));
    }

    private FileAttribute<?>[] fileAttributes(boolean directory) {
        if (!posix) {
            return new FileAttribute<?>[0];
        }
        return new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString(directory ? "rwx------" : "rw-------"))};
    }

    private void syncDirectory(Path dir) throws IOException {
        if (posix) {
            writer.syncDirectory(dir);
        }
    }

    /**
     * The id of the process that wrote a temp file named {@code <name>.json|.id|.touch.<pid>.<hex>.tmp}
     * (as this storage names them), or -1 when {@code name} is not one. Read by hand: a
     * regular expression would load its engine on every start.
     *
     * @param name a file name
     * @return the writer's process id, or -1
     */
    static long tempFileOwner(String name) {
        if (!name.endsWith(TEMP_SUFFIX)) {
            return -1;
        }
        String rest = name.substring(0, name.length() - TEMP_SUFFIX.length());
        int hexStart = rest.lastIndexOf('.') + 1;
        int pidStart = hexStart > 1 ? rest.lastIndexOf('.', hexStart - 2) + 1 : 0;
        if (pidStart <= 0 || hexStart - 1 <= pidStart || hexStart == rest.length() || hexStart - 1 - pidStart > 18) {
            return -1;
        }
        for (int i = hexStart; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return -1;
            }
        }
        long pid = 0;
        for (int i = pidStart; i < hexStart - 1; i++) {
            char c = rest.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            pid = pid * 10 + (c - '0');
        }
        String base = rest.substring(0, pidStart - 1);
        return base.endsWith(SUFFIX) || base.endsWith(ID_SUFFIX) || base.endsWith(TOUCH_SUFFIX) ? pid : -1;
    }

    /**
     * One pass over the directory when opened: removes temp files of interrupted writes (of processes
     * that are gone, or older than an hour) and id files left without a record, and renames records a
     * version 0.1 store wrote under an id with upper-case letters ({@code Sess-A.json}) to their
     * {@link FileNames} names, with their index markers, so that ids differing only in case stay
     * distinct on case-insensitive file systems.
     */
    private void removeOrphanTempFiles() {
        Instant orphanBefore = Instant.now().minus(ORPHAN_TEMP_AGE);
        List<String> earlier = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.endsWith(TEMP_SUFFIX)) {
                    long owner = tempFileOwner(name);
                    boolean ownerAlive = owner >= 0 && ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false);
                    if (!ownerAlive || Files.getLastModifiedTime(entry).toInstant().isBefore(orphanBefore)) {
                        Files.deleteIfExists(entry);
                        LOG.info("[file] removed temp file {} left by an interrupted write", entry);
                    }
                } else if (name.endsWith(ID_SUFFIX) || name.endsWith(TOUCH_SUFFIX)) {
                    String base = name.substring(0, name.length()
                            - (name.endsWith(ID_SUFFIX) ? ID_SUFFIX : TOUCH_SUFFIX).length());
                    if (!Files.exists(root.resolve(base + SUFFIX), LinkOption.NOFOLLOW_LINKS)
                            && Files.getLastModifiedTime(entry).toInstant().isBefore(orphanBefore)) {
                        Files.deleteIfExists(entry);
                    }
                } else if (name.endsWith(SUFFIX)) {
                    String id = FileNames.earlierVersionId(name.substring(0, name.length() - SUFFIX.length()));
                    if (id != null) {
                        earlier.add(id);
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            LOG.warn("[file] could not remove leftover temp files in {}: {}", root, e.toString());
        }
        if (!earlier.isEmpty()) {
            renameEarlierVersionNames(earlier);
        }
    }

    private void renameEarlierVersionNames(List<String> ids) {
        for (String id : ids) {
            try {
                withLock(id, () -> {
                    Path from = root.resolve(id + SUFFIX);
                    Path to = sessionFile(id);
                    if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
                        LOG.error("[file] {} (written by version 0.1) and {} both hold session {}: left as they are;"
                                + " remove the one that is not current", from, to, id);
                        return null;
                    }
                    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
                    return null;
                });
            } catch (IOException e) {
                LOG.warn("[file] could not rename {} to its current name: {}", root.resolve(id + SUFFIX), describe(e));
            }
        }
        try {
            syncDirectory(root);
            for (Path index : List.of(usersIndex, projectsIndex)) {
                if (!Files.isDirectory(index, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try (DirectoryStream<Path> keys = Files.newDirectoryStream(index)) {
                    for (Path keyDir : keys) {
                        try (DirectoryStream<Path> markers = Files.newDirectoryStream(keyDir)) {
                            for (Path marker : markers) {
                                String id = FileNames.earlierVersionId(marker.getFileName().toString());
                                if (id != null) {
                                    Files.move(marker, keyDir.resolve(FileNames.of(id)),
                                            StandardCopyOption.REPLACE_EXISTING);
                                }
                            }
                        }
                    }
                }
            }
            LOG.info("[file] renamed {} session files of version 0.1 (ids with upper-case letters) in {}", ids.size(),
                    root);
        } catch (IOException e) {
            LOG.warn("[file] could not rename the index entries of version 0.1 in {}: {} (the next cleanup adds them)",
                    root, describe(e));
        }
    }

    private static String lastModified(Path file) {
        try {
            return Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toString();
        } catch (IOException e) {
            return "?";
        }
    }

    static String hash(String key) {
        return SessionRecordCodec.ownerHash(key);
    }

    private static String describe(IOException e) {
        if (e instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason() + " (" + e.getClass().getSimpleName() + ")";
        }
        return e.toString();
    }

    private <T> CompletableFuture<T> run(String id, IoAction<T> action) {
        // An interrupt would close the channels a write uses (even after its rename landed, making a
        // stored write look failed): the interrupt status is set aside for the call and restored.
        boolean interrupted = Thread.interrupted();
        try {
            return CompletableFuture.completedFuture(action.run());
        } catch (IOException e) {
            String path = e instanceof FileSystemException fs && fs.getFile() != null ? fs.getFile()
                    : SessionIds.isValid(id) ? root.resolve(FileNames.of(id) + SUFFIX).toString() : root.toString();
            return CompletableFuture.failedFuture(failure(id, "I/O error on " + path + ": " + describe(e), e));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @FunctionalInterface
    interface IoAction<T> {
        T run() throws IOException;
    }

    /** Builds a {@link FileSessionStorage}. */
    public static final class Builder {
        private final Path directory;
        private String namespace = DEFAULT_NAMESPACE;
        private Duration defaultTtl = SessionBuddyConfig.DEFAULT_TTL;
        private StoredFormat storedFormat = StoredFormat.defaults();
        private Clock clock = Clock.systemUTC();
        private TempFileWriter writer = TempFileWriter.DEFAULT;

        private Builder(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
        }

        /**
         * The sub-directory for this application's sessions; default {@code default}.
         *
         * @param value the sub-directory for this application's sessions; default {@code default}
         * @return this builder
         */
        public Builder namespace(String value) {
            if (!isValidNamespace(value)) {
                throw new IllegalArgumentException("namespace must match [A-Za-z0-9._-]{1,64} and not be"
                        + " '.' or '..', was \"" + value + "\"");
            }
            namespace = value;
            return this;
        }

        /**
         * The time to live of writes without one.
         *
         * @param value the time to live of writes without one
         * @return this builder
         */
        public Builder defaultTtl(Duration value) {
            defaultTtl = Objects.requireNonNull(value, "defaultTtl");
            return this;
        }

        /**
         * The stored format: size limit, compression, encryption keys (default {@link StoredFormat#defaults()}).
         *
         * @param value the stored format: size limit, compression, encryption keys (default {@link StoredFormat#defaults()})
         * @return this builder
         */
        public Builder storedFormat(StoredFormat value) {
            storedFormat = Objects.requireNonNull(value, "storedFormat");
            return this;
        }

        /**
         * The clock expiry is computed with.
         *
         * @param value the clock expiry is computed with
         * @return this builder
         */
        public Builder clock(Clock value) {
            clock = Objects.requireNonNull(value, "clock");
            return this;
        }

        Builder writer(TempFileWriter value) {
            writer = Objects.requireNonNull(value, "writer");
            return this;
        }

        /**
         * Opens the store: creates the directories (owner-only where the OS allows) and removes temp
         * files left by dead processes.
         *
         * @return the storage
         * @throws SessionStorageException naming the directory when it cannot be created or opened
         */
        public FileSessionStorage build() {
            return new FileSessionStorage(this);
        }
    }
}
