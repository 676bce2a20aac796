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
 * Read-only access to the original Python store's local-file layout, to migrate from it:
 * {@code <storage_dir>/<id>.json.gz} (gzip-compressed JSON), with no index and no stored TTL.
 *
 * <p>The original kept no expiry: a session expires the configured default TTL
 * ({@code session_ttl_hours}) after its file was last modified. With no index to read, listing
 * by user or project reads the directory and the records' user and project, remembered per file
 * size and modification time so that a second listing only reads files that changed. Every write,
 * delete or cleanup fails with a message pointing to {@code session-buddy migrate}.
 */
public final class LegacyFileSessionStorage extends ReadOnlySessionStorage {
    /** The provider name. */
    public static final String NAME = "legacy-file";
    private static final String SUFFIX = ".json.gz";
    private static final Logger LOG = LoggerFactory.getLogger(LegacyFileSessionStorage.class);

    private final Path directory;
    private final Map<String, Owner> owners = new ConcurrentHashMap<>();

    private record Owner(long size, long modified, String userId, String projectId) {
    }

    /**
     * @param directory the original's {@code storage_dir}
     * @param defaultTtl the original's {@code session_ttl_hours}: a session expires this long after
     *     its file was last modified
     */
    public LegacyFileSessionStorage(Path directory, Duration defaultTtl, Clock clock, StoredFormat format) {
        super(NAME, defaultTtl, clock, format, "");
        this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath().normalize();
        if (!Files.isDirectory(this.directory)) {
            throw new SessionStorageException(NAME, null, "the original store's directory " + this.directory
                    + " does not exist");
        }
        LOG.warn("[{}] reading the original Python store's files in {}: read-only and deprecated; move its sessions"
                + " with session-buddy migrate", NAME, this.directory);
    }

    private Path file(String id) {
        return directory.resolve(id + SUFFIX);
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
        if (Files.isSymbolicLink(file)) {
            throw new SessionStorageException(NAME, id, "refusing to follow symbolic link " + file);
        }
        byte[] bytes;
        Instant modified;
        try {
            modified = Files.getLastModifiedTime(file).toInstant();
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        SessionState state = decode(id, bytes, "file " + file);
        return Optional.of(state.expiresAt() != null ? state : state.withExpiresAt(modified.plus(defaultTtl())));
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
                if (!Instant.ofEpochMilli(modified).plus(defaultTtl()).isAfter(now())) {
                    continue;
                }
                Owner owner = owners.get(id);
                if (owner == null || owner.size() != size || owner.modified() != modified) {
                    Optional<SessionState> state;
                    try {
                        state = read(id);
                    } catch (IOException | SessionStorageException e) {
                        LOG.warn("[{}] skipping unreadable file {}: {}", NAME, file, e.getMessage());
                        continue;
                    }
                    if (state.isEmpty()) {
                        continue;
                    }
                    owner = new Owner(size, modified, state.get().userId(), state.get().projectId());
                    owners.put(id, owner);
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
            return CompletableFuture.completedFuture(ids());
        } catch (IOException e) {
            return CompletableFuture.failedFuture(failure(null, "cannot list " + directory + ": " + e, e));
        }
    }

    private List<String> ids() throws IOException {
        List<String> ids = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String id = name.substring(0, name.length() - SUFFIX.length());
                if (SessionIds.isValid(id)) {
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
