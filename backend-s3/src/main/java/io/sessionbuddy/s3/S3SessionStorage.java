package io.sessionbuddy.s3;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionOutcomeUnknownException;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.spi.AbstractSessionStorage;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.DeleteObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Sessions as objects in an S3 bucket (AWS or any S3-compatible store).
 *
 * <p>Objects: {@code <prefix>/<namespace>/sessions/<id>} holds the session's JSON, with user
 * metadata {@code version}, {@code expires-at} (epoch ms), {@code user-hash} and
 * {@code project-hash} (SHA-256 of the ids). Index entries are empty objects
 * {@code <prefix>/<namespace>/index/users/<sha256(user)>/<id>} and
 * {@code .../index/projects/<sha256(project)>/<id>}: one object per entry, so concurrent writers
 * never contend on a shared index object. They are written before the data and removed after it;
 * listing checks each candidate's metadata and deletes entries whose session is gone, expired or
 * moved (lazy repair); cleanup sweeps them all.
 *
 * <p>Compare-and-set uses S3 conditional writes: {@code replaceSession} reads the object's ETag and
 * version and writes with {@code If-Match}; a lost race answers 412 (or 404) and is reported as
 * {@code false}. Cleanup deletes an expired object with {@code If-Match} too, so a session refreshed
 * meanwhile is kept. At start-up the store checks the bucket and that the endpoint honours
 * {@code If-None-Match}; it fails clearly if not, unless conditional writes are switched off (unsafe
 * under concurrency).
 *
 * <p>Calls are synchronous on the calling thread (the SDK's Apache 5 HTTP client); the returned
 * futures are already complete.
 *
 * <p><b>Snapshot and restore</b> (CRaC, AWS Lambda SnapStart): the storage registers itself with
 * {@code org.crac}'s global context; before a checkpoint it closes the S3 client it made (from the
 * provider's settings) and makes a new one on the first call after the restore. A client given to
 * {@link #builder} is left to the application.
 */
public final class S3SessionStorage extends AbstractSessionStorage implements org.crac.Resource {
    /** The default key prefix. */
    public static final String DEFAULT_PREFIX = "session-buddy";
    /** The default namespace. */
    public static final String DEFAULT_NAMESPACE = "default";

    static final String META_VERSION = "version";
    static final String META_EXPIRES_AT = "expires-at";
    static final String META_USER = "user-hash";
    static final String META_PROJECT = "project-hash";
    static final String META_WRITE_ID = "write-id";
    /**
     * Index entries younger than this are never repaired away: a writer adds its entries just
     * before the data, and must not lose them to a concurrent listing or cleanup.
     */
    static final Duration REPAIR_GRACE = Duration.ofMinutes(1);
    private static final Logger LOG = LoggerFactory.getLogger(S3SessionStorage.class);

    private volatile S3Client s3;
    private final boolean ownsClient;
    /** Makes the client again after a restore; {@code null} for a client the caller gave (theirs to manage). */
    private final java.util.function.Supplier<S3Client> clientFactory;
    private final Object clientLock = new Object();
    private final String bucket;
    private final String sessionsPrefix;
    private final String usersPrefix;
    private final String projectsPrefix;
    private final boolean conditionalWrites;
    private final boolean checkConditionalWrites;
    private final RecentReads lastRead = new RecentReads(1024);

    private S3SessionStorage(Builder builder) {
        super(S3StorageProvider.NAME, builder.defaultTtl, builder.clock, builder.storedFormat, true,
                (builder.prefix.isEmpty() ? "" : builder.prefix + "/") + builder.namespace);
        this.s3 = builder.client;
        this.ownsClient = builder.ownsClient;
        this.clientFactory = builder.ownsClient ? builder.clientFactory : null;
        this.bucket = builder.bucket;
        String base = (builder.prefix.isEmpty() ? "" : builder.prefix + "/") + builder.namespace + "/";
        this.sessionsPrefix = base + "sessions/";
        this.usersPrefix = base + "index/users/";
        this.projectsPrefix = base + "index/projects/";
        this.conditionalWrites = builder.conditionalWrites;
        this.checkConditionalWrites = builder.checkConditionalWrites != null ? builder.checkConditionalWrites
                : hasEndpointOverride(builder.client);
        this.base = base;
        try {
            checkBucket(base);
            bucketChecked = true;
        } catch (RuntimeException e) {
            if (!unreachable(e)) {
                close();
                throw e;
            }
            // The endpoint does not answer now (a cold start during a blip): open anyway; the checks
            // run before the first call that finds it reachable, and calls fail typed until then.
            LOG.warn("[s3] cannot reach bucket {} yet ({}); its checks run on the first call that reaches it",
                    bucket, e.getMessage());
        }
        org.crac.Core.getGlobalContext().register(this); // held weakly: this storage keeps it alive
    }

    /**
     * Whether the client talks to an endpoint other than AWS's own: configured on the builder, or
     * through {@code AWS_ENDPOINT_URL(_S3)}, the {@code aws.endpointUrl(S3)} system properties or a
     * profile's {@code endpoint_url} (the SDK reports all of them as an override).
     */
    private static boolean hasEndpointOverride(S3Client client) {
        try {
            return client.serviceClientConfiguration().endpointOverride().isPresent();
        } catch (RuntimeException e) {
            return true; // cannot tell: check
        }
    }

    /** Whether a start-up check failed because the endpoint could not be reached (not a wrong setting). */
    private static boolean unreachable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof S3Exception) {
                return false;
            }
            if (t instanceof SdkException) {
                return true;
            }
        }
        return false;
    }

    /** Runs the start-up checks now if the endpoint was unreachable at start. */
    private void ensureChecked() {
        if (bucketChecked) {
            return;
        }
        synchronized (this) {
            if (!bucketChecked) {
                checkBucket(base);
                bucketChecked = true;
                LOG.info("[s3] bucket {} reached and checked", bucket);
            }
        }
    }

    /**
     * A builder for a store in {@code bucket}, talking through {@code client}.
     *
     * @param client the S3 client (the caller's: not closed by the storage)
     * @param bucket the bucket
     * @return the builder
     */
    public static Builder builder(S3Client client, String bucket) {
        return new Builder(client, bucket);
    }

    /**
     * Whether {@code namespace} is acceptable: {@code [A-Za-z0-9._-]{1,64}}.
     *
     * @param namespace a candidate namespace
     * @return whether it is acceptable
     */
    public static boolean isValidNamespace(String namespace) {
        return SessionIds.isPlainName(namespace)
                && !namespace.equals(".") && !namespace.equals("..");
    }

    private final String base;
    private volatile boolean bucketChecked;
    private final java.util.Set<String> reportedDamaged = java.util.concurrent.ConcurrentHashMap.newKeySet();

    // ---- operations ----

    @Override
    protected CompletableFuture<Void> doStore(SessionState state, byte[] record, Duration ttl) {
        return call(state.sessionId(), "store", () -> {
            if (storeOverSeen(state, record)) {
                return null;
            }
            Optional<ObjectHead> old = head(state.sessionId());
            addMarkers(state, old);
            put(state, record, null, SessionIds.generate());
            old.ifPresent(previous -> removeMovedMarkers(state.sessionId(), previous, state));
            return null;
        });
    }

    /**
     * A store over the object this storage last read or wrote under the id, when its owner is the
     * new state's and it stays live for {@link #REPAIR_GRACE} yet: one {@code PUT} with
     * {@code If-Match} of the ETag seen, no {@code HEAD}. The precondition holding means the object
     * is still the one seen, so its index entries are this owner's (written before it, and not
     * repaired away while it is live) and nothing moves. A broken precondition (412, or 404 when it
     * was deleted) says only that someone wrote since: the caller takes the usual path ({@code HEAD},
     * entries, {@code PUT}), as the store is unconditional.
     *
     * @return whether the state was stored
     */
    private boolean storeOverSeen(SessionState state, byte[] record) {
        ObjectHead seen = conditionalWrites ? lastRead.take(state.sessionId()) : null;
        if (seen == null || seen.eTag() == null
                || !hash(state.userId()).equals(seen.metadata().get(META_USER))
                || !hash(state.projectId()).equals(seen.metadata().get(META_PROJECT))
                || !liveFor(state.sessionId(), seen, REPAIR_GRACE)) {
            return false;
        }
        try {
            put(state, record, seen.eTag(), SessionIds.generate());
            return true;
        } catch (S3Exception e) {
            if (e.statusCode() != 412 && e.statusCode() != 404 && e.statusCode() != 409) {
                throw e; // 409: a conditional write raced another; the usual path settles it
            }
            return false;
        }
    }

    /**
     * A store under a freshly generated id: no {@code HEAD} for a previous owner (there is none to
     * expect): three {@code PUT}s (the two index entries, then the object).
     */
    @Override
    protected CompletableFuture<Void> doStoreNew(SessionState state, byte[] record, Duration ttl) {
        return call(state.sessionId(), "store", () -> {
            addMarkers(state, Optional.empty());
            put(state, record, null, SessionIds.generate());
            return null;
        });
    }

    @Override
    protected CompletableFuture<Boolean> doReplace(SessionState state, byte[] record, long expectedVersion,
            Duration ttl) {
        return call(state.sessionId(), "replace", () -> {
            // The read before an update usually saw this very version: its ETag saves a HEAD. A stale
            // one only costs a 412 and a retry.
            Optional<ObjectHead> old = Optional.ofNullable(lastRead.take(state.sessionId()))
                    .filter(seen -> version(state.sessionId(), seen) == expectedVersion)
                    .or(() -> head(state.sessionId()));
            if (old.isEmpty() || expired(state.sessionId(), old.get())
                    || version(state.sessionId(), old.get()) != expectedVersion) {
                return false;
            }
            addMarkers(state, old);
            String writeId = SessionIds.generate();
            try {
                put(state, record, conditionalWrites ? old.get().eTag() : null, writeId);
            } catch (S3Exception e) {
                if (e.statusCode() != 412 && e.statusCode() != 404) {
                    throw e;
                }
                // A retried attempt may find the precondition broken by its own first attempt, which
                // landed although the client saw an error: the write id tells.
                Optional<ObjectHead> now = head(state.sessionId());
                if (now.isEmpty() || !writeId.equals(now.get().metadata().get(META_WRITE_ID))) {
                    return false;
                }
            }
            removeMovedMarkers(state.sessionId(), old.get(), state);
            return true;
        });
    }

    /**
     * A touch on S3 rewrites the object (a {@code GET} and a conditional {@code PUT}): the state it
     * wrote is the read, so a sliding read is two requests, not three.
     */
    @Override
    protected CompletableFuture<Optional<SessionState>> doTouchAndRetrieve(String sessionId, Instant expiresAt,
            Duration ttl) {
        return rewriteExpiry(sessionId, expiresAt, ttl);
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        return call(sessionId, "retrieve", () -> {
            for (int attempt = 1; ; attempt++) {
                ResponseBytes<GetObjectResponse> object = getBounded(sessionId);
                if (object == null) {
                    return Optional.empty();
                }
                ObjectHead seen = new ObjectHead(object.response().eTag(), object.response().metadata());
                SessionState state = decode(sessionId, object.asByteArray());
                if (seen.metadata().get(META_VERSION) == null || version(sessionId, seen) == state.version()) {
                    lastRead.put(sessionId, seen);
                    return Optional.of(state);
                }
                // A store whose GET is not atomic with a concurrent PUT (S3Proxy is not; AWS S3 is) can
                // pair one object's body with another's metadata: read once more before calling it a
                // replay, which stays put however often it is read.
                if (attempt >= 3) {
                    throw new CorruptSessionException(S3StorageProvider.NAME, sessionId, "object s3://" + bucket + "/"
                            + dataKey(sessionId) + " holds a record of version " + state.version() + " but its"
                            + " metadata says " + version(sessionId, seen) + ": an older record was put back",
                            CorruptSessionException.Reason.VERSION_MISMATCH, null);
                }
            }
        });
    }

    /** The expired session about to be removed, for the event's owner; {@code null} when it cannot be read. */
    private SessionState ownerForEvent(String id) {
        try {
            ResponseBytes<GetObjectResponse> object = getBounded(id);
            return object == null ? null : decode(id, object.asByteArray(), "object s3://" + bucket + "/" + dataKey(id));
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * A body of {@code length} declared bytes, read into one array of that size; a body that goes on
     * past it is read as it is, up to one byte over {@code bound} (so the caller's size check refuses
     * a huge one).
     */
    static byte[] readDeclared(java.io.InputStream body, int length, int bound) throws java.io.IOException {
        byte[] record = body.readNBytes(length);
        int more = body.read();
        if (more < 0) {
            return record;
        }
        java.io.ByteArrayOutputStream longer = new java.io.ByteArrayOutputStream(length + 1);
        longer.write(record);
        longer.write(more);
        longer.write(body.readNBytes(Math.max(0, bound + 1 - longer.size())));
        return longer.toByteArray();
    }

    /** The object, or {@code null} when absent; a body larger than any record this store writes is not read. */
    private ResponseBytes<GetObjectResponse> getBounded(String sessionId) {
        try (software.amazon.awssdk.core.ResponseInputStream<GetObjectResponse> object = s3().getObject(
                GetObjectRequest.builder().bucket(bucket).key(dataKey(sessionId)).build())) {
            GetObjectResponse response = object.response();
            Long length = response.contentLength();
            if (length != null && length > maxRecordBytes()) {
                object.abort(); // never read a body larger than any record this store writes
                throw recordTooLarge(sessionId, length, "object s3://" + bucket + "/" + dataKey(sessionId));
            }
            // With the length known, one array of that size (reading up to the bound instead goes
            // through 8 KiB chunks and a copy); one byte more tells a body longer than declared.
            byte[] record = length != null ? readDeclared(object, length.intValue(), maxRecordBytes())
                    : object.readNBytes(maxRecordBytes() + 1);
            if (record.length > maxRecordBytes()) {
                object.abort();
                throw recordTooLarge(sessionId, record.length, "object s3://" + bucket + "/" + dataKey(sessionId));
            }
            return ResponseBytes.fromByteArrayUnsafe(response, record);
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return null;
            }
            throw e;
        } catch (java.io.IOException e) {
            throw SdkClientException.create("reading the object body failed: " + e.getMessage(), e);
        }
    }

    @Override
    protected CompletableFuture<Boolean> doDelete(String sessionId) {
        return call(sessionId, "delete", () -> {
            lastRead.take(sessionId);
            Optional<ObjectHead> old = head(sessionId);
            if (old.isEmpty()) {
                return false;
            }
            s3().deleteObject(DeleteObjectRequest.builder().bucket(bucket).key(dataKey(sessionId)).build());
            deleteQuietly(usersPrefix + old.get().metadata().get(META_USER) + "/" + objectName(sessionId));
            deleteQuietly(projectsPrefix + old.get().metadata().get(META_PROJECT) + "/" + objectName(sessionId));
            try {
                return !expired(sessionId, old.get());
            } catch (CorruptSessionException e) {
                return true; // a damaged object was there, and is gone now
            }
        });
    }

    @Override
    protected CompletableFuture<List<String>> doListStoredIds() {
        return call(null, "list stored ids", () -> idsUnder(sessionsPrefix).keySet().stream().sorted().toList());
    }

    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        return call(null, "list", () -> {
            String markerPrefix = markerPrefix(userId, projectId);
            List<String> live = liveOf(idsUnder(markerPrefix != null ? markerPrefix : sessionsPrefix), userId, projectId);
            live.sort(io.sessionbuddy.core.SessionPage.ORDER);
            return live;
        });
    }

    /**
     * A page listed from the index's markers in key order from the cursor on ({@code StartAfter}),
     * so a page costs a list request or two and one {@code HEAD} per candidate it needs, not a
     * {@code HEAD} per session of the filter. A marker's name is the id itself for plain ids, whose
     * key order is their id order; other ids' names ({@code ~} and base64) sort after every plain
     * name and not in id order, so they are listed whole (one request while there are fewer than
     * 1,000) and merged in. Without a filter, the sessions' own objects are paged the same way.
     */
    @Override
    protected CompletableFuture<io.sessionbuddy.core.SessionPage> doListPage(String userId, String projectId,
            String lastId, int limit) {
        return call(null, "list", () -> {
            String markerPrefix = markerPrefix(userId, projectId);
            String prefix = markerPrefix != null ? markerPrefix : sessionsPrefix;
            java.util.TreeMap<String, Instant> encoded = new java.util.TreeMap<>(io.sessionbuddy.core.SessionPage.ORDER);
            encoded.putAll(idsUnder(prefix, "~"));
            Map<String, Instant> listed = new HashMap<>();
            return pageFromIndex(lastId, limit, (after, max) -> {
                List<String> batch = new ArrayList<>(plainIdsAfter(prefix, after, max, listed));
                batch.addAll((after == null ? encoded : encoded.tailMap(after, false)).keySet().stream().limit(max)
                        .toList());
                for (String id : batch) {
                    listed.putIfAbsent(id, encoded.get(id));
                }
                batch.sort(io.sessionbuddy.core.SessionPage.ORDER);
                return batch.subList(0, Math.min(max, batch.size()));
            }, batch -> {
                Map<String, Instant> candidates = new LinkedHashMap<>();
                for (String id : batch) {
                    candidates.put(id, listed.get(id));
                }
                return liveOf(candidates, userId, projectId);
            });
        });
    }

    /** The marker prefix of the filter's index (the user's, else the project's), or {@code null} without one. */
    private String markerPrefix(String userId, String projectId) {
        return userId != null ? usersPrefix + hash(userId) + "/"
                : projectId != null ? projectsPrefix + hash(projectId) + "/" : null;
    }

    /**
     * At most {@code max} plain-named ids under {@code prefix} after {@code after} (key order is id
     * order for them), listed from {@code StartAfter} on, with their objects' last-modified times
     * put in {@code listed}. Stops at the first {@code ~} name (the encoded ones follow all plain ones).
     */
    private List<String> plainIdsAfter(String prefix, String after, int max, Map<String, Instant> listed) {
        ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).prefix(prefix)
                .maxKeys(Math.min(1000, max));
        if (after != null) {
            request.startAfter(prefix + after);
        }
        List<String> ids = new ArrayList<>();
        for (S3Object object : s3().listObjectsV2Paginator(request.build()).contents()) {
            String name = object.key().substring(prefix.length());
            if (name.startsWith("~")) {
                break;
            }
            String id = idOfName(name);
            if (id != null && SessionIds.isValid(id)) {
                ids.add(id);
                listed.put(id, object.lastModified());
                if (ids.size() == max) {
                    break;
                }
            }
        }
        return ids;
    }

    /**
     * The live sessions of the filter among {@code candidates} (id to its entry's last-modified
     * time), one {@code HEAD} each, in parallel; entries of the filter's index whose session is gone,
     * expired or moved are removed on the way (lazy repair, only entries older than a grace period).
     */
    private List<String> liveOf(Map<String, Instant> candidates, String userId, String projectId) {
        String userHash = userId == null ? null : hash(userId);
        String projectHash = projectId == null ? null : hash(projectId);
        String indexHash = userHash != null ? userHash : projectHash;
        String indexMeta = userHash != null ? META_USER : META_PROJECT;
        String markerPrefix = markerPrefix(userId, projectId);
        Instant repairBefore = now().minus(REPAIR_GRACE);
        List<String> live = new ArrayList<>();
        Map<String, Optional<ObjectHead>> heads = headAll(candidates.keySet());
        for (Map.Entry<String, Instant> candidate : candidates.entrySet()) {
            String id = candidate.getKey();
            Optional<ObjectHead> head = heads.get(id);
            boolean alive;
            try {
                alive = head.isPresent() && !expired(id, head.get());
            } catch (CorruptSessionException e) {
                reportDamaged(id, e);
                continue; // skipped, and its entry kept: "cannot read" is not "gone"
            }
            if (alive && (userHash == null || userHash.equals(head.get().metadata().get(META_USER)))
                    && (projectHash == null || projectHash.equals(head.get().metadata().get(META_PROJECT)))) {
                live.add(id);
            }
            boolean entryValid = alive && indexHash != null && indexHash.equals(head.get().metadata().get(indexMeta));
            // Lazy repair of an entry whose session is gone, expired or moved; only old entries,
            // because a writer adds the entry just before the data.
            if (markerPrefix != null && !entryValid && candidate.getValue() != null
                    && candidate.getValue().isBefore(repairBefore)) {
                deleteQuietly(markerPrefix + id);
            }
        }
        return live;
    }

    @Override
    protected CompletableFuture<Integer> doCleanup() {
        return call(null, "clean up", () -> {
            int removed = 0;
            Map<String, ObjectHead> live = new HashMap<>();
            java.util.Set<String> damaged = new java.util.HashSet<>();
            for (Map.Entry<String, Optional<ObjectHead>> found : headAll(idsUnder(sessionsPrefix).keySet())
                    .entrySet()) {
                String id = found.getKey();
                Optional<ObjectHead> head = found.getValue();
                if (head.isEmpty()) {
                    continue;
                }
                boolean expired;
                try {
                    expired = expired(id, head.get());
                } catch (CorruptSessionException e) {
                    reportDamaged(id, e);
                    damaged.add(id);
                    continue;
                }
                if (!expired) {
                    live.put(id, head.get());
                    continue;
                }
                try {
                    SessionState owner = isObserved() ? ownerForEvent(id) : null; // read only when observed
                    DeleteObjectRequest.Builder delete = DeleteObjectRequest.builder().bucket(bucket).key(dataKey(id));
                    if (conditionalWrites) {
                        delete.ifMatch(head.get().eTag());
                    }
                    s3().deleteObject(delete.build());
                    if (!SessionRecordCodec.Summary.ROTATION_MARKER_USER_HASH.equals(head.get().metadata().get(META_USER))) {
                        removed++; // a rotation's marker is removed, not counted: it is not a session
                    }
                    observers().sessionExpired(S3StorageProvider.NAME, id, owner == null ? null : owner.userId(),
                            owner == null ? null : owner.projectId());
                } catch (S3Exception e) {
                    if (e.statusCode() != 412 && e.statusCode() != 404) {
                        throw e;
                    }
                    // Rewritten (or removed) since we looked: not ours to delete.
                }
            }
            int repaired = sweepMarkers(usersPrefix, live, damaged, META_USER)
                    + sweepMarkers(projectsPrefix, live, damaged, META_PROJECT);
            if (repaired > 0) {
                observers().indexRepaired(S3StorageProvider.NAME, repaired);
            }
            if (!damaged.isEmpty()) {
                LOG.warn("[s3] cleanup left {} damaged session object(s) as they are: {}", damaged.size(),
                        damaged.stream().sorted().limit(20).toList());
            }
            return removed;
        });
    }

    @Override
    protected CompletableFuture<Boolean> doPing() {
        return call(null, "check the bucket", () -> {
            s3().headBucket(b -> b.bucket(bucket));
            return true;
        });
    }

    /** The client; after a checkpoint closed it, the first call makes a new one. */
    private S3Client s3() {
        S3Client client = s3;
        if (client != null) {
            return client;
        }
        synchronized (clientLock) {
            if (s3 == null) {
                s3 = clientFactory.get();
                LOG.info("[s3] new client for bucket {} after a restore", bucket);
            }
            return s3;
        }
    }

    /**
     * Before a checkpoint (CRaC, Lambda SnapStart): closes the client the storage made (its HTTP
     * connection pool: a restored copy must not reuse a socket of the snapshotted process); the first
     * call after the restore makes a new one. A client given to {@link #builder} is the caller's to
     * close and reopen: left as it is.
     */
    @Override
    public void beforeCheckpoint(org.crac.Context<? extends org.crac.Resource> context) {
        if (clientFactory == null) {
            LOG.info("[s3] checkpoint: the S3 client was given by the application, which closes and reopens it");
            return;
        }
        synchronized (clientLock) {
            S3Client open = s3;
            s3 = null;
            if (open != null) {
                open.close();
            }
        }
    }

    /** Nothing to do at once: the first call after a restore makes a new client. */
    @Override
    public void afterRestore(org.crac.Context<? extends org.crac.Resource> context) {
    }

    /** The client held now, {@code null} between a checkpoint and the next call (for tests). */
    S3Client heldClient() {
        return s3;
    }

    @Override
    protected void doClose() {
        if (ownsClient) {
            S3Client open = s3;
            if (open != null) {
                open.close();
            }
        }
    }

    // ---- objects ----

    private void put(SessionState state, byte[] record, String ifMatch, String writeId) {
        Map<String, String> metadata = Map.of(
                META_WRITE_ID, writeId,
                META_VERSION, Long.toString(state.version()),
                META_EXPIRES_AT, Long.toString(state.expiresAt().toEpochMilli()),
                META_USER, hash(state.userId()),
                META_PROJECT, hash(state.projectId()));
        PutObjectRequest.Builder request = PutObjectRequest.builder().bucket(bucket).key(dataKey(state.sessionId()))
                .contentType("application/octet-stream").metadata(metadata).expires(state.expiresAt());
        if (ifMatch != null) {
            request.ifMatch(ifMatch);
        }
        String eTag = s3().putObject(request.build(), RequestBody.fromBytes(record)).eTag();
        if (eTag != null) {
            // what is there now, for the next store or compare-and-set of this id (saves their HEAD)
            lastRead.put(state.sessionId(), new ObjectHead(eTag, metadata));
        }
    }

    private Optional<ObjectHead> head(String id) {
        try {
            HeadObjectResponse head = s3().headObject(b -> b.bucket(bucket).key(dataKey(id)));
            return Optional.of(new ObjectHead(head.eTag(), head.metadata()));
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /**
     * The HEADs of many objects, up to {@value #HEAD_PARALLELISM} at a time (listing and cleanup
     * would otherwise pay one round trip per candidate in turn), in the order of {@code ids}.
     */
    private Map<String, Optional<ObjectHead>> headAll(java.util.Collection<String> ids) {
        Map<String, Optional<ObjectHead>> heads = new LinkedHashMap<>();
        if (ids.size() <= 1) {
            ids.forEach(id -> heads.put(id, head(id)));
            return heads;
        }
        Map<String, CompletableFuture<Optional<ObjectHead>>> pending = new LinkedHashMap<>();
        for (String id : ids) {
            pending.put(id, CompletableFuture.supplyAsync(() -> head(id), HeadPool.EXECUTOR));
        }
        for (Map.Entry<String, CompletableFuture<Optional<ObjectHead>>> entry : pending.entrySet()) {
            try {
                heads.put(entry.getKey(), entry.getValue().join());
            } catch (java.util.concurrent.CompletionException e) {
                pending.values().forEach(future -> future.cancel(false));
                if (e.getCause() instanceof RuntimeException cause) {
                    throw cause; // as a HEAD on this thread would have
                }
                throw e;
            }
        }
        return heads;
    }

    /** HEADs in flight at once, over all stores of this JVM. */
    static final int HEAD_PARALLELISM = 16;

    /** The threads of {@link #headAll}: daemon, made on first use, gone when idle. */
    private static final class HeadPool {
        static final java.util.concurrent.Executor EXECUTOR = daemonPool("session-buddy-s3-head", HEAD_PARALLELISM);
    }

    private SessionState decode(String id, byte[] bytes) {
        return decode(id, bytes, "object s3://" + bucket + "/" + dataKey(id));
    }

    /** Whether the object stays unexpired for {@code margin} from now; {@code false} when its metadata is damaged. */
    private boolean liveFor(String id, ObjectHead head, Duration margin) {
        try {
            String value = head.metadata().get(META_EXPIRES_AT);
            return value != null && Instant.ofEpochMilli(number(id, META_EXPIRES_AT, value)).isAfter(now().plus(margin));
        } catch (CorruptSessionException e) {
            return false;
        }
    }

    /** @throws CorruptSessionException when the object's expiry metadata is not a number */
    private boolean expired(String id, ObjectHead head) {
        String value = head.metadata().get(META_EXPIRES_AT);
        return value != null && !Instant.ofEpochMilli(number(id, META_EXPIRES_AT, value)).isAfter(now());
    }

    /** @throws CorruptSessionException when the object's version metadata is not a number */
    private long version(String id, ObjectHead head) {
        String value = head.metadata().get(META_VERSION);
        return value == null ? 0 : number(id, META_VERSION, value);
    }

    private long number(String id, String metaKey, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new CorruptSessionException(S3StorageProvider.NAME, id, "object s3://" + bucket + "/" + dataKey(id)
                    + " is damaged: its metadata " + metaKey + " is not a number", e);
        }
    }

    private void reportDamaged(String id, CorruptSessionException e) {
        if (reportedDamaged.size() < 10_000 && reportedDamaged.add(id)) {
            LOG.warn("{}; listings skip it, cleanup leaves it", e.getMessage());
        }
    }

    /** The ids of the objects directly under {@code prefix}, with their last-modified times. */
    private Map<String, Instant> idsUnder(String prefix) {
        return idsUnder(prefix, "");
    }

    /** The ids of the objects under {@code prefix} whose names start with {@code namesFrom}. */
    private Map<String, Instant> idsUnder(String prefix, String namesFrom) {
        Map<String, Instant> ids = new LinkedHashMap<>();
        for (S3Object object : s3().listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(bucket)
                .prefix(prefix + namesFrom).build()).contents()) {
            String id = idOfName(object.key().substring(prefix.length()));
            if (SessionIds.isValid(id)) {
                ids.put(id, object.lastModified());
            }
        }
        return ids;
    }

    // ---- index markers ----

    /**
     * Puts the session's markers unless the previous object is live and already had them: an
     * expired previous object's markers may already have been removed by lazy repair.
     */
    private void addMarkers(SessionState state, Optional<ObjectHead> old) {
        String userHash = hash(state.userId());
        String projectHash = hash(state.projectId());
        // An object about to expire may have its entries repaired away by a listing any moment now:
        // write them again (fresh entries are never repaired).
        boolean oldLive = old.isPresent() && liveFor(state.sessionId(), old.get(), REPAIR_GRACE);
        if (!oldLive || !userHash.equals(old.get().metadata().get(META_USER))) {
            putMarker(usersPrefix + userHash + "/" + objectName(state.sessionId()));
        }
        if (!oldLive || !projectHash.equals(old.get().metadata().get(META_PROJECT))) {
            putMarker(projectsPrefix + projectHash + "/" + objectName(state.sessionId()));
        }
    }

    private void putMarker(String key) {
        s3().putObject(PutObjectRequest.builder().bucket(bucket).key(key).build(), RequestBody.fromString("1"));
    }

    private void removeMovedMarkers(String id, ObjectHead previous, SessionState next) {
        String oldUser = previous.metadata().get(META_USER);
        String oldProject = previous.metadata().get(META_PROJECT);
        if (oldUser != null && !oldUser.equals(hash(next.userId()))) {
            deleteQuietly(usersPrefix + oldUser + "/" + objectName(id));
        }
        if (oldProject != null && !oldProject.equals(hash(next.projectId()))) {
            deleteQuietly(projectsPrefix + oldProject + "/" + objectName(id));
        }
    }

    /**
     * Removes markers of gone, expired or moved sessions (settled ones only, re-checked just before),
     * keeps those of damaged objects, and puts back the markers live sessions lack.
     */
    /** Returns how many markers it removed or put back. */
    private int sweepMarkers(String prefix, Map<String, ObjectHead> live, java.util.Set<String> damaged,
            String metaKey) {
        java.util.Set<String> present = new java.util.HashSet<>();
        int repaired = 0;
        for (S3Object object : s3().listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(bucket).prefix(prefix)
                .build()).contents()) {
            String rest = object.key().substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash < 0) {
                continue;
            }
            String keyHash = rest.substring(0, slash);
            String id = idOfName(rest.substring(slash + 1));
            ObjectHead head = live.get(id);
            if (head != null && keyHash.equals(head.metadata().get(metaKey))) {
                present.add(id);
                continue;
            }
            boolean settled = object.lastModified().isBefore(now().minus(REPAIR_GRACE));
            if (settled && !damaged.contains(id)) {
                // Re-check: a writer may have added this session since the scan.
                Optional<ObjectHead> now = SessionIds.isValid(id) ? head(id) : Optional.empty();
                try {
                    if (now.isEmpty() || expired(id, now.get()) || !keyHash.equals(now.get().metadata().get(metaKey))) {
                        deleteQuietly(object.key());
                        repaired++;
                    }
                } catch (CorruptSessionException e) {
                    reportDamaged(id, e);
                }
            }
        }
        for (Map.Entry<String, ObjectHead> entry : live.entrySet()) {
            String keyHash = entry.getValue().metadata().get(metaKey);
            if (!present.contains(entry.getKey()) && keyHash != null) {
                putMarker(prefix + keyHash + "/" + objectName(entry.getKey()));
                repaired++;
            }
        }
        return repaired;
    }

    private void deleteQuietly(String key) {
        try {
            s3().deleteObject(DeleteObjectRequest.builder().bucket(bucket).key(key).build());
        } catch (SdkException e) {
            LOG.warn("[s3] could not remove index entry s3://{}/{}: {}", bucket, key, e.getMessage());
        }
    }

    // ---- start-up checks ----

    private void checkBucket(String base) {
        // Against an endpoint other than AWS's own the conditional-write probe runs, and its PUT also
        // proves that the bucket exists and takes writes: no HEAD of the bucket then (one request,
        // and one request type, fewer on a cold start). Otherwise a HEAD of the bucket.
        boolean probe = conditionalWrites && checkConditionalWrites;
        try {
            if (probe) {
                probeConditionalWrites(base);
            } else {
                s3().headBucket(b -> b.bucket(bucket));
            }
        } catch (S3Exception e) {
            String reason = switch (e.statusCode()) {
                case 404 -> "the bucket does not exist";
                case 301, 400 -> "the bucket is in another region or the endpoint is wrong";
                case 401, 403 -> "access denied: check the credentials (access_key/secret_key or the AWS provider"
                        + " chain) and that the IAM policy allows " + (probe ? "s3:PutObject" : "s3:ListBucket")
                        + " on it";
                default -> "HTTP " + e.statusCode();
            };
            throw new SessionStorageException(S3StorageProvider.NAME, null, "cannot use bucket " + bucket + ": "
                    + reason + " (" + describe(e) + ")", e);
        } catch (SdkException e) {
            throw new SessionStorageException(S3StorageProvider.NAME, null, "cannot reach bucket " + bucket + ": "
                    + e.getMessage(), e);
        }
        if (!conditionalWrites) {
            LOG.warn("[s3] conditional writes are switched off for bucket {}: concurrent updates of one session"
                    + " can be lost", bucket);
        } else if (!checkConditionalWrites) {
            // AWS S3 itself honours If-None-Match and If-Match on PUT (since 2024): no probe
            LOG.debug("[s3] conditional-write probe skipped for bucket {} (check_conditional_writes)", bucket);
        }
    }

    /**
     * Puts the probe object with {@code If-None-Match: *}. A 412 (or 409) says the endpoint honours
     * conditional writes: the object is there from an earlier start (or from this put's own first
     * attempt, when the SDK retried it), and an endpoint that ignores the header never answers 412.
     * A 200 says it was absent, or the header was ignored: putting it again the same way tells which.
     * So a start is one request once the probe exists (it stays; earlier versions put a random probe,
     * then deleted it: three requests on every start).
     *
     * @throws SessionStorageException when the endpoint ignores conditional writes
     * @throws S3Exception when the endpoint refuses the put (no bucket, no access)
     */
    private void probeConditionalWrites(String base) {
        String probe = base + ".probe/conditional-writes";
        boolean honoured = probeRefused(probe); // it was there
        if (!honoured) {
            honoured = probeRefused(probe); // it is there now
        }
        if (!honoured) {
            throw new SessionStorageException(S3StorageProvider.NAME, null, "the S3 endpoint of bucket " + bucket
                    + " ignores conditional writes (If-None-Match), so concurrent updates could be lost;"
                    + " use an endpoint that supports them, or set conditional_writes: false to accept that risk");
        }
    }

    /** Whether a put of {@code probe} with {@code If-None-Match: *} was refused because it exists. */
    private boolean probeRefused(String probe) {
        try {
            s3().putObject(PutObjectRequest.builder().bucket(bucket).key(probe).ifNoneMatch("*").build(),
                    RequestBody.fromString("probe"));
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 412 || e.statusCode() == 409) {
                return true;
            }
            throw e;
        }
    }

    // ---- helpers ----

    private String dataKey(String id) {
        return sessionsPrefix + objectName(id);
    }

    /**
     * The name of a session's objects (data and markers): the id itself when it is made of
     * {@code [A-Za-z0-9._-]} only and is not {@code .} or {@code ..} (every id of earlier versions),
     * otherwise {@code ~} and the base64url of its UTF-8 bytes without padding (at most 684
     * characters for the longest id). Object names so never hold a character that S3 tools or URL
     * handling treat specially, and one name maps to one id.
     */
    static String objectName(String id) {
        if (isPlainName(id)) {
            return id;
        }
        return "~" + java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString(id.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The id of an object name ({@link #objectName} reversed), or {@code null} if it is not one. */
    static String idOfName(String name) {
        if (!name.startsWith("~")) {
            return isPlainName(name) ? name : null;
        }
        try {
            byte[] bytes = java.util.Base64.getUrlDecoder().decode(name.substring(1));
            String id = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            return objectName(id).equals(name) ? id : null; // one name per id
        } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }

    private static boolean isPlainName(String id) {
        if (id.isEmpty() || id.equals(".") || id.equals("..")) {
            return false;
        }
        for (int i = 0, n = id.length(); i < n; i++) {
            char c = id.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                    || c == '_' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    private <T> CompletableFuture<T> call(String id, String operation, Supplier<T> body) {
        try {
            ensureChecked();
            return CompletableFuture.completedFuture(body.get());
        } catch (S3Exception e) {
            if (isWrite(operation) && e.statusCode() >= 500) {
                return CompletableFuture.failedFuture(outcomeUnknown(id, operation, describe(e), e));
            }
            return CompletableFuture.failedFuture(failure(id, "could not " + operation + " in bucket " + bucket + ": "
                    + describe(e), e));
        } catch (SdkException e) {
            if (isWrite(operation)) {
                return CompletableFuture.failedFuture(outcomeUnknown(id, operation, e.getMessage(), e));
            }
            return CompletableFuture.failedFuture(failure(id, "could not " + operation + " in bucket " + bucket + ": "
                    + e.getMessage(), e));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static boolean isWrite(String operation) {
        return operation.equals("store") || operation.equals("replace") || operation.equals("delete");
    }

    /** A server error or a broken connection after a write was sent: it may have landed. */
    private SessionOutcomeUnknownException outcomeUnknown(String id, String operation, String reason, Throwable cause) {
        return new SessionOutcomeUnknownException(S3StorageProvider.NAME, id, "could not " + operation + " in bucket "
                + bucket + " (" + reason + "), and the write may or may not have landed", cause);
    }

    private static String describe(S3Exception e) {
        String code = e.awsErrorDetails() != null ? e.awsErrorDetails().errorCode() : null;
        return "HTTP " + e.statusCode() + (code != null ? " " + code : "")
                + (e.requestId() != null ? ", request id " + e.requestId() : "");
    }

    static String hash(String value) {
        return SessionRecordCodec.ownerHash(value); // the same SHA-256 hex the record's summary holds
    }

    /**
     * What the storage needs of an object's head: its ETag and user metadata. Its own type rather
     * than the SDK's {@code HeadObjectResponse}, whose class sets up about a hundred field accessors
     * when first used (some 15 ms of a cold start that never sends a {@code HEAD}). Never compared,
     * so the record's generated {@code equals} (bootstrapped on first call) is never set up.
     */
    private record ObjectHead(String eTag, Map<String, String> metadata) {
    }

    /**
     * The ETag and metadata of the objects this storage last read or wrote, by session id (a small
     * LRU): a compare-and-set or a store right after them needs no {@code HEAD}.
     */
    private static final class RecentReads {
        private final Map<String, ObjectHead> entries;

        RecentReads(int capacity) {
            entries = new LinkedHashMap<>(16, 0.75f, true) {
                private static final long serialVersionUID = 1L;

                @Override
                protected boolean removeEldestEntry(Map.Entry<String, ObjectHead> eldest) {
                    return size() > capacity;
                }
            };
        }

        synchronized void put(String id, ObjectHead head) {
            entries.put(id, head);
        }

        synchronized ObjectHead take(String id) {
            return entries.remove(id);
        }
    }

    /** Builds an {@link S3SessionStorage}. */
    public static final class Builder {
        private final S3Client client;
        private final String bucket;
        private boolean ownsClient;
        private java.util.function.Supplier<S3Client> clientFactory;
        private String prefix = DEFAULT_PREFIX;
        private String namespace = DEFAULT_NAMESPACE;
        private boolean conditionalWrites = true;
        private Boolean checkConditionalWrites;
        private Duration defaultTtl = SessionBuddyConfig.DEFAULT_TTL;
        private StoredFormat storedFormat = StoredFormat.defaults();
        private Clock clock = Clock.systemUTC();

        private Builder(S3Client client, String bucket) {
            this.client = Objects.requireNonNull(client, "client");
            if (bucket == null || bucket.isBlank()) {
                throw new IllegalArgumentException("bucket is required");
            }
            this.bucket = bucket;
        }

        /**
         * Key prefix inside the bucket (no leading or trailing '/'); default {@code session-buddy}.
         *
         * @param value key prefix inside the bucket (no leading or trailing '/'); default {@code session-buddy}
         * @return this builder
         */
        public Builder prefix(String value) {
            String trimmed = Objects.requireNonNull(value, "prefix").replaceAll("^/+|/+$", "");
            if (trimmed.contains("//") || trimmed.contains("..")) {
                throw new IllegalArgumentException("prefix must not contain '//' or '..', was \"" + value + "\"");
            }
            prefix = trimmed;
            return this;
        }

        /**
         * The namespace below the prefix; default {@code default}.
         *
         * @param value the namespace below the prefix; default {@code default}
         * @return this builder
         */
        public Builder namespace(String value) {
            if (!isValidNamespace(value)) {
                throw new IllegalArgumentException("namespace must match [A-Za-z0-9._-]{1,64}, was \"" + value + "\"");
            }
            namespace = value;
            return this;
        }

        /**
         * Whether to use conditional writes (default {@code true}). Off is unsafe under concurrency:
         * only for endpoints without {@code If-Match}/{@code If-None-Match} support.
         *
         * @param value whether writes are conditional
         * @return this builder
         */
        public Builder conditionalWrites(boolean value) {
            conditionalWrites = value;
            return this;
        }

        /**
         * Whether to check at start-up, with a probe object, that the endpoint honours conditional
         * writes (it is refused when it does not). Default ({@code null}): only when the client has an
         * endpoint other than AWS's own (an S3-compatible store, which may ignore
         * {@code If-None-Match}); AWS S3 honours them. The probe's {@code PUT} also checks the bucket
         * (a start is then one request, two on the first start against a bucket); without the probe a
         * {@code HeadBucket} checks it.
         *
         * @param value whether to probe, or {@code null} for the default
         * @return this builder
         */
        public Builder checkConditionalWrites(Boolean value) {
            checkConditionalWrites = value;
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
         * The clock that stamps and checks {@code expires_at}.
         *
         * @param value the clock that stamps and checks {@code expires_at}
         * @return this builder
         */
        public Builder clock(Clock value) {
            clock = Objects.requireNonNull(value, "clock");
            return this;
        }

        /** Whether {@link S3SessionStorage#close()} closes the client (the provider's own client). */
        Builder ownsClient(boolean value) {
            ownsClient = value;
            return this;
        }

        /** How to make the owned client again after a checkpoint closed it (the provider's settings). */
        Builder clientFactory(java.util.function.Supplier<S3Client> value) {
            clientFactory = value;
            return this;
        }

        /**
         * Checks the bucket (and conditional-write support) and returns the store.
         *
         * @return the storage
         * @throws SessionStorageException when the bucket is missing, access is denied, or the endpoint
         *     ignores conditional writes
         */
        public S3SessionStorage build() {
            return new S3SessionStorage(this);
        }
    }
}
