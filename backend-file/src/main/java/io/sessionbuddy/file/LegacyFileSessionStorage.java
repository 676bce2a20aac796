package io.sessionbuddy.file;

import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.spi.ReadOnlySessionStorage;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Read-only access to the original Python store's local files, to migrate from them, in either of
 * its layouts:
 * <ul>
 *   <li>{@code legacy-file}: {@code <storage_dir>/<id>.json.gz} (gzip-compressed JSON), with no
 *       index and no stored TTL: a session expires the configured default TTL
 *       ({@code session_ttl_hours}) after its file was last modified;
 *   <li>{@code legacy-adapter} (the storage adapter of newer versions, their default):
 *       {@code <data_dir>/sessions/<id>/state.json}, pretty-printed JSON of the session's fields
 *       plus {@code _metadata} (dropped) and, when a TTL was given, {@code _ttl} whose
 *       {@code expires_at} is the session's expiry (no {@code _ttl}: no expiry).
 * </ul>
 *
 * <p>With no index to read, listing by user or project reads the directory and the records' user
 * and project, remembered per file size and modification time so that a second listing only reads
 * files that changed. Every write, delete or cleanup fails with a message pointing to
 * {@code session-buddy migrate}.
 */
public final class LegacyFileSessionStorage extends ReadOnlySessionStorage {
    /** The provider name of the {@code <storage_dir>/<id>.json.gz} layout. */
    public static final String NAME = "legacy-file";
    /** The provider name of the storage adapter's {@code <data_dir>/sessions/<id>/state.json} layout. */
    public static final String ADAPTER_NAME = "legacy-adapter";
    private static final String SUFFIX = ".json.gz";
    private static final String STATE_FILE = "state.json";
    private static final String METADATA = "_metadata";
    private static final String TTL = "_ttl";
    private static final Logger LOG = LoggerFactory.getLogger(LegacyFileSessionStorage.class);

    private final Path directory;
    private final boolean adapter;
    private final Map<String, Owner> owners = new ConcurrentHashMap<>();

    private record Owner(long size, long modified, String userId, String projectId, Instant expiresAt) {
    }

    /**
     * A reader of the original's file layout.
     *
     * @param directory the original's {@code storage_dir}
     * @param defaultTtl the original's {@code session_ttl_hours}: a session expires this long after
     *     its file was last modified
     * @param clock the clock expiry is computed with
     * @param format the stored format (its size limits bound what is read)
     */
    public LegacyFileSessionStorage(Path directory, Duration defaultTtl, Clock clock, StoredFormat format) {
        this(NAME, directory, defaultTtl, clock, format);
    }

    /**
     * The storage adapter's layout ({@code legacy-adapter}).
     *
     * @param dataDir the original's {@code data_dir}; sessions are under its {@code sessions/}
     * @param defaultTtl the time to live a migration gives a session without {@code _ttl}
     * @param clock the clock expiry is computed with
     * @param format the stored format (its size limits bound what is read)
     * @return the reader
     */
    public static LegacyFileSessionStorage adapterLayout(Path dataDir, Duration defaultTtl, Clock clock,
            StoredFormat format) {
        return new LegacyFileSessionStorage(ADAPTER_NAME, Objects.requireNonNull(dataDir, "dataDir")
                .resolve("sessions"), defaultTtl, clock, format);
    }

    private LegacyFileSessionStorage(String name, Path directory, Duration defaultTtl, Clock clock,
            StoredFormat format) {
        super(name, defaultTtl, clock, format, "");
        this.adapter = name.equals(ADAPTER_NAME);
        this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath().normalize();
        if (!Files.isDirectory(this.directory)) {
            throw new SessionStorageException(name, null, "the original store's directory " + this.directory
                    + " does not exist");
        }
        LOG.warn("[{}] reading the original Python store's files in {}: read-only and deprecated; move its sessions"
                + " with session-buddy migrate", name, this.directory);
    }

    /**
     * The original's file of {@code id}, which used the id as a file name as it was; {@code null} for an
     * id that cannot name a file directly in the directory (a separator, {@code .} or {@code ..}): no
     * session of the original can be there, and no path outside the directory is ever read.
     */
    private Path file(String id) {
        if (id.indexOf('/') >= 0 || id.indexOf('\\') >= 0 || id.indexOf('\0') >= 0 || id.equals(".")
                || id.equals("..")) {
            return null;
        }
        Path file;
        try {
            file = adapter ? directory.resolve(id).resolve(STATE_FILE) : directory.resolve(id + SUFFIX);
        } catch (java.nio.file.InvalidPathException e) {
            return null;
        }
        Path parent = adapter ? file.getParent().getParent() : file.getParent();
        return directory.equals(parent) ? file : null;
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        try {
            return CompletableFuture.completedFuture(read(sessionId));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(failure(sessionId, "cannot read " + file(sessionId) + ": " + e, e));
        }
    }

    private Optional<SessionState> read(String id) throws IOException {
        Path file = file(id);
        if (file == null) {
            return Optional.empty();
        }
        if (Files.isSymbolicLink(file) || (adapter && Files.isSymbolicLink(file.getParent()))) {
            throw new SessionStorageException(backendName(), id, "refusing to follow symbolic link " + file);
        }
        byte[] bytes;
        Instant modified;
        try {
            modified = Files.getLastModifiedTime(file).toInstant();
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (bytes.length > maxRecordBytes()) {
            throw recordTooLarge(id, bytes.length, "file " + file);
        }
        SessionState state = decode(id, bytes, "file " + file);
        if (adapter) {
            return Optional.of(withoutStorageFields(id, state, file));
        }
        return Optional.of(state.expiresAt() != null ? state : state.withExpiresAt(modified.plus(defaultTtl())));
    }

    /**
     * The adapter's storage fields are not session fields: {@code _metadata} is dropped and
     * {@code _ttl.expires_at} becomes the expiry (no {@code _ttl}: none).
     */
    private SessionState withoutStorageFields(String id, SessionState state, Path file) {
        com.fasterxml.jackson.databind.node.ObjectNode extra = state.extraFields().deepCopy();
        extra.remove(METADATA);
        com.fasterxml.jackson.databind.JsonNode ttl = extra.remove(TTL);
        Instant expires = null;
        if (ttl != null && !ttl.isNull()) {
            com.fasterxml.jackson.databind.JsonNode at = ttl.path("expires_at");
            if (!at.isTextual()) {
                throw new io.sessionbuddy.core.CorruptSessionException(backendName(), id, "file " + file + ": _ttl has"
                        + " no expires_at timestamp", io.sessionbuddy.core.CorruptSessionException.Reason.MALFORMED, null);
            }
            try {
                expires = io.sessionbuddy.core.SessionJsonCodec.parseTimestamp(at.textValue(), naiveTimestampZone());
            } catch (IllegalArgumentException e) {
                throw new io.sessionbuddy.core.CorruptSessionException(backendName(), id, "file " + file
                        + ": _ttl.expires_at: " + e.getMessage(), io.sessionbuddy.core.CorruptSessionException.Reason.MALFORMED,
                        e);
            }
        }
        return state.toBuilder().extraFields(extra).expiresAt(expires).build();
    }

    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        try {
            List<String> live = new ArrayList<>();
            for (String id : ids()) {
                Path file = file(id);
                long size;
                long modified;
                try {
                    size = Files.size(file);
                    modified = Files.getLastModifiedTime(file).toMillis();
                } catch (NoSuchFileException e) {
                    continue;
                }
                if (!adapter && !Instant.ofEpochMilli(modified).plus(defaultTtl()).isAfter(now())) {
                    continue;
                }
                Owner owner = owners.get(id);
                if (owner == null || owner.size() != size || owner.modified() != modified) {
                    Optional<SessionState> state;
                    try {
                        state = read(id);
                    } catch (IOException | SessionStorageException e) {
                        LOG.warn("[{}] skipping unreadable file {}: {}", backendName(), file, e.getMessage());
                        continue;
                    }
                    if (state.isEmpty()) {
                        continue;
                    }
                    owner = new Owner(size, modified, state.get().userId(), state.get().projectId(),
                            state.get().expiresAt());
                    owners.put(id, owner);
                }
                if (owner.expiresAt() != null && !owner.expiresAt().isAfter(now())) {
                    continue;
                }
                if ((userId == null || owner.userId().equals(userId))
                        && (projectId == null || owner.projectId().equals(projectId))) {
                    live.add(id);
                }
            }
            return CompletableFuture.completedFuture(live);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(failure(null, "cannot list " + directory + ": " + e, e));
        }
    }

    @Override
    protected CompletableFuture<List<String>> doListStoredIds() {
        try {
            // every stored id, also one this version does not accept: a migration then names it as failed
            return CompletableFuture.completedFuture(ids(true));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(failure(null, "cannot list " + directory + ": " + e, e));
        }
    }

    private List<String> ids() throws IOException {
        return ids(false);
    }

    private List<String> ids(boolean includeInvalid) throws IOException {
        List<String> ids = new ArrayList<>();
        if (adapter) {
            // one directory per session; a deleted session leaves its directory without state.json
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(directory)) {
                for (Path dir : dirs) {
                    String id = dir.getFileName().toString();
                    if (Files.isRegularFile(dir.resolve(STATE_FILE), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        if (includeInvalid || SessionIds.isValid(id)) {
                            ids.add(id);
                        }
                    }
                }
            }
            ids.sort(null);
            return ids;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String id = name.substring(0, name.length() - SUFFIX.length());
                if (!id.isEmpty() && (includeInvalid || SessionIds.isValid(id))) {
                    ids.add(id);
                }
            }
        }
        ids.sort(null);
        return ids;
    }

    @Override
    protected CompletableFuture<Boolean> doPing() {
        return CompletableFuture.completedFuture(Files.isDirectory(directory) && Files.isReadable(directory));
    }

    @Override
    protected void doClose() {
        owners.clear();
    }
}
