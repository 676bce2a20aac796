package io.sessionbuddy.redis;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.KeyValue;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.spi.AbstractSessionStorage;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions in Redis (standalone, TLS, ACL, Sentinel) or Redis Cluster, on one shared, thread-safe
 * Lettuce connection with auto-reconnect.
 *
 * <p>Keys: data {@code <namespace>:{<id>}} (a hash with the encoded record, version, user and
 * project, expiring with {@code PEXPIRE}); indexes {@code <namespace>:idx:user:<user>} and
 * {@code <namespace>:idx:project:<project>} (sorted sets of ids scored by expiry, each kept alive as
 * long as its longest-lived member), each with an order set {@code <namespace>:idx:byid:...} (the
 * same ids scored 0, in byte order, for pages read from a cursor; see {@link #orderSet}). The hash
 * tag keeps every key of one session in one slot.
 *
 * <p>Standalone: a write is one Lua script that sets the data, checks the version for
 * compare-and-set, adds both index entries and removes the old ones when the user or project
 * changed, atomically in one round trip; a delete removes its index entries in the same script.
 * Cluster: index keys live in other slots, so the index entry is added before the data is written
 * (a script on the data key's slot) and old entries are removed after; an entry whose data is gone
 * or belongs elsewhere is never listed (listing checks each candidate's data) and is removed lazily
 * by listing and by {@link #cleanupExpiredSessions()}.
 *
 * <p>Commands fail with {@link SessionStorageException} after the configured timeout while Redis is
 * unreachable and work again, without a restart, once it is back. Passwords never appear in logs or
 * messages.
 *
 * <p><b>Snapshot and restore</b> (CRaC, AWS Lambda SnapStart): the storage registers itself with
 * {@code org.crac}'s global context. Before a checkpoint it closes its connection; after a restore
 * the first call connects again (on the calling thread, bounded by the timeout), so no connection
 * made before the snapshot is ever reused by a restored copy.
 */
public final class RedisSessionStorage extends AbstractSessionStorage implements org.crac.Resource {
    /** The default namespace. */
    public static final String DEFAULT_NAMESPACE = "session";
    /** The default command timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionStorage.class);

    private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
    private static final byte[] EMPTY = new byte[0];
    /**
     * How much longer an index key lives than its longest-lived entry: expired entries stay
     * visible to {@link #cleanupExpiredSessions()} for this long, then Redis drops the key itself.
     */
    static final Duration INDEX_GRACE = Duration.ofHours(24);
    /** The near cache's default size ({@code near_cache.maximum_size}). */
    public static final long DEFAULT_NEAR_CACHE_MAXIMUM_SIZE = 10_000;
    /** How long a near-cache entry is used at most by default ({@code near_cache.maximum_age}). */
    public static final Duration DEFAULT_NEAR_CACHE_MAXIMUM_AGE = Duration.ofMinutes(1);
    /** Events kept in the stream by default (trimmed approximately). */
    public static final long DEFAULT_EVENT_STREAM_MAX_LENGTH = 100_000;

    /**
     * The key of the event stream of {@code namespace}.
     *
     * @param namespace the storage's namespace
     * @return {@code <namespace>:events}
     */
    public static String eventStreamKey(String namespace) {
        return namespace + ":events";
    }

    /**
     * Redis Cluster: the event stream of one hash slot, {@code <namespace>:events:{<tag>}}, where
     * {@code <tag>} is the first number in base 36 that hashes to {@code slot}. A write appends its
     * event to the stream of its data key's slot, cleanup to the stream of the user index's slot.
     *
     * @param namespace the storage's namespace
     * @param slot a hash slot, 0 to 16,383
     * @return the stream's key, in {@code slot}
     */
    public static String eventStreamKey(String namespace, int slot) {
        return namespace + ":events:{" + SlotTags.of(slot) + "}";
    }

    /**
     * Redis Cluster: the stream a writer appends the slot of each event to, right after the event
     * (not atomically with it): consumers wait on it to know which slot streams to read.
     *
     * @param namespace the storage's namespace
     * @return {@code <namespace>:events:bell}
     */
    public static String eventBellKey(String namespace) {
        return namespace + ":events:bell";
    }

    /**
     * Redis Cluster: the start mark of a consumer group, {@code <namespace>:events:group:<group>},
     * the stream id from which the group reads a slot stream it finds (see
     * {@link RedisSessionEventConsumer#startCluster}).
     *
     * @param namespace the storage's namespace
     * @param group the consumer group
     * @return the mark's key
     */
    static String eventGroupKey(String namespace, String group) {
        return namespace + ":events:group:" + group;
    }

    /** The bell stream is trimmed to about this many entries (a lost entry only delays its event). */
    static final long EVENT_BELL_MAX_LENGTH = 10_000;

    private final AbstractRedisClient ownedClient;
    private final ClientResources ownedResources;
    private final Supplier<StatefulConnection<String, byte[]>> connector;
    private volatile StatefulConnection<String, byte[]> connection;
    private volatile RedisClusterAsyncCommands<String, byte[]> connected;
    private volatile String lastConnectFailure = "not connected yet";
    private final java.util.concurrent.atomic.AtomicBoolean connecting = new java.util.concurrent.atomic.AtomicBoolean();
    /** Between {@link #beforeCheckpoint} and the first call after it: the connection was closed on purpose. */
    private volatile boolean checkpointed;
    private final Object checkpointLock = new Object();
    private final boolean cluster;
    private final Duration commandTimeout;
    private final int waitForReplicas;
    private final String dataPrefix;
    private final String userIndexPrefix;
    private final String projectIndexPrefix;
    /** Standalone: the order set of a user's index is this prefix and the user (see {@link #orderSet}). */
    private final String userOrderPrefix;
    private final String projectOrderPrefix;
    private final String orderSetPrefix;
    private final String where;
    /** The stream session events are appended to, or {@code null} when events are off or in a cluster. */
    private final String eventStream;
    /** Cluster with events on: the namespace of the slot streams ({@link #eventStreamKey(String, int)}), else {@code null}. */
    private final String slotEvents;
    /** What a stream is trimmed to: {@code event_stream_max_length}, in a cluster its share per slot stream. */
    private final long eventStreamMaxLength;
    private final Set<String> reportedDamaged = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The near cache, or {@code null} when off (the default; never in Redis Cluster). */
    private final RedisNearCache nearCache;
    /** The client whose connection events the near cache follows, or {@code null}. */
    private final AbstractRedisClient watchedClient;
    private final io.lettuce.core.RedisConnectionStateListener connectionEvents;

    private RedisSessionStorage(Builder builder, AbstractRedisClient ownedClient, ClientResources ownedResources,
            Supplier<StatefulConnection<String, byte[]>> connector, boolean cluster, String where,
            AbstractRedisClient client) {
        super(RedisStorageProvider.NAME, builder.defaultTtl, builder.clock, builder.storedFormat, true, builder.namespace);
        this.ownedClient = ownedClient;
        this.ownedResources = ownedResources;
        this.connector = connector;
        this.cluster = cluster;
        this.dataPrefix = builder.namespace + ":{";
        this.userIndexPrefix = builder.namespace + ":idx:user:";
        this.projectIndexPrefix = builder.namespace + ":idx:project:";
        this.orderSetPrefix = builder.namespace + ":idx:byid:";
        this.userOrderPrefix = orderSetPrefix + "user:";
        this.projectOrderPrefix = orderSetPrefix + "project:";
        this.where = where;
        this.commandTimeout = builder.timeout;
        this.waitForReplicas = builder.waitForReplicas;
        this.eventStream = builder.eventStream && !cluster ? eventStreamKey(builder.namespace) : null;
        this.slotEvents = builder.eventStream && cluster ? builder.namespace : null;
        // a cluster's events are spread over up to 16,384 slot streams: each keeps its share
        this.eventStreamMaxLength = !cluster ? builder.eventStreamMaxLength
                : Math.max(1, -Math.floorDiv(-builder.eventStreamMaxLength, io.lettuce.core.cluster.SlotHash.SLOT_COUNT));
        if (builder.nearCacheSize > 0 && cluster) {
            throw new IllegalArgumentException("the near cache is for standalone and Sentinel Redis: in Redis Cluster"
                    + " invalidations would have to be tracked on every node's connection, which this version does not do");
        }
        if (builder.nearCacheSize > 0) {
            nearCache = new RedisNearCache(dataPrefix, builder.nearCacheSize, builder.nearCacheMaxAge, where);
            watchedClient = client;
            connectionEvents = new io.lettuce.core.RedisConnectionStateListener() {
                @Override
                public void onRedisConnected(io.lettuce.core.RedisChannelHandler<?, ?> handler,
                        java.net.SocketAddress address) {
                    if (handler == connection) {
                        nearCache.reconnected(standalone(connection)); // tracking again, entries after its reply
                    }
                }

                @Override
                public void onRedisDisconnected(io.lettuce.core.RedisChannelHandler<?, ?> handler) {
                    if (handler == connection) {
                        nearCache.disconnected(); // invalidations may be missed from now on
                    }
                }
            };
            client.addListener(connectionEvents);
        } else {
            nearCache = null;
            watchedClient = null;
            connectionEvents = null;
        }
        org.crac.Core.getGlobalContext().register(this); // held weakly: this storage keeps it alive
        try {
            adopt(connector.get());
        } catch (RuntimeException e) {
            if (isConfigurationFailure(e)) {
                throw e;
            }
            // Unreachable now (a cold start during a blip): open anyway, connect in the background.
            lastConnectFailure = Builder.describeFailure(e);
            LOG.warn("[{}] cannot reach {} yet ({}); connecting in the background, calls fail until then",
                    RedisStorageProvider.NAME, where, lastConnectFailure);
            connectInBackground();
        }
    }

    /** A wrong password, an ACL refusal or a TLS failure: the configuration is wrong, retrying will not help. */
    static boolean isConfigurationFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RedisCommandExecutionException || t instanceof javax.net.ssl.SSLException) {
                return true;
            }
        }
        return false;
    }

    private void adopt(StatefulConnection<String, byte[]> fresh) {
        if (isClosed()) {
            fresh.close();
            return;
        }
        connection = fresh;
        if (nearCache != null) {
            nearCache.track(standalone(fresh));
        }
        connected = fresh instanceof StatefulRedisClusterConnection<String, byte[]> c ? c.async()
                : ((StatefulRedisConnection<String, byte[]>) fresh).async();
        if (isClosed()) {
            fresh.close(); // closed while connecting: doClose may have missed it
        }
    }

    @SuppressWarnings("unchecked") // a standalone storage's connections are made with its String/byte[] codec
    private static StatefulRedisConnection<String, byte[]> standalone(StatefulConnection<String, byte[]> connection) {
        return (StatefulRedisConnection<String, byte[]>) connection;
    }

    /**
     * What the near cache holds and did, or empty when the storage has none
     * ({@code near_cache.enabled: false}, the default).
     *
     * @return the near cache's counters
     */
    @Override
    public Optional<io.sessionbuddy.spi.NearCacheStats> nearCacheStats() {
        return nearCache == null ? Optional.empty() : Optional.of(nearCache.stats());
    }

    /** The commands of the connection; fails fast, typed, while the first connection is not made yet. */
    private RedisClusterAsyncCommands<String, byte[]> commands() {
        RedisClusterAsyncCommands<String, byte[]> commands = connected;
        if (commands != null) {
            return commands;
        }
        if (checkpointed) {
            return reconnectAfterRestore();
        }
        connectInBackground();
        throw failure(null, "not connected to " + where + " yet (connecting in the background): "
                + lastConnectFailure, null);
    }

    /**
     * Closes the connection before a checkpoint (CRaC, Lambda SnapStart): a restored copy must not
     * use a socket of the process that was snapshotted. Calls made until {@link #afterRestore} (or
     * the first call after it) connect again.
     */
    @Override
    public void beforeCheckpoint(org.crac.Context<? extends org.crac.Resource> context) {
        synchronized (checkpointLock) {
            checkpointed = true;
            StatefulConnection<String, byte[]> open = connection;
            connected = null;
            connection = null;
            if (open != null) {
                open.close();
            }
        }
        LOG.info("[{}] connection to {} closed for a checkpoint", RedisStorageProvider.NAME, where);
    }

    /** Nothing to do at once: the first call after a restore connects (see {@link #beforeCheckpoint}). */
    @Override
    public void afterRestore(org.crac.Context<? extends org.crac.Resource> context) {
        LOG.info("[{}] restored: the next call connects to {}", RedisStorageProvider.NAME, where);
    }

    /** The first call after a checkpoint connects on its own thread, once; others wait for it. */
    private RedisClusterAsyncCommands<String, byte[]> reconnectAfterRestore() {
        synchronized (checkpointLock) {
            RedisClusterAsyncCommands<String, byte[]> commands = connected;
            if (commands != null) {
                return commands;
            }
            if (isClosed()) {
                throw failure(null, "the storage is closed", null);
            }
            try {
                adopt(connector.get());
                checkpointed = false;
                LOG.info("[{}] connected to {} again after a restore", RedisStorageProvider.NAME, where);
                return connected;
            } catch (RuntimeException e) {
                lastConnectFailure = Builder.describeFailure(e);
                checkpointed = false; // from now on as any lost connection: retried in the background
                connectInBackground();
                throw failure(null, "cannot reconnect to " + where + " after a restore: " + lastConnectFailure, e);
            }
        }
    }

    /** Tries to connect until it succeeds or the storage is closed, backing off up to 2 s. */
    private void connectInBackground() {
        if (!connecting.compareAndSet(false, true)) {
            return;
        }
        CONNECTOR_THREADS.execute(() -> {
            long delayMillis = 50;
            try {
                while (connected == null && !isClosed()) {
                    try {
                        adopt(connector.get());
                        LOG.info("[{}] connected to {}", RedisStorageProvider.NAME, where);
                        return;
                    } catch (RuntimeException e) {
                        lastConnectFailure = Builder.describeFailure(e);
                    }
                    try {
                        Thread.sleep(delayMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                    delayMillis = Math.min(delayMillis * 2, 2_000);
                }
            } finally {
                connecting.set(false);
            }
        });
    }

    private static final java.util.concurrent.Executor CONNECTOR_THREADS =
            java.util.concurrent.Executors.newCachedThreadPool(task -> {
                Thread thread = new Thread(task, "session-buddy-redis-connect");
                thread.setDaemon(true);
                return thread;
            });

    /**
     * A builder; give it {@link Builder#uri}, {@link Builder#clusterNodes} or a client you own.
     *
     * @return a builder; give it {@link Builder#uri}, {@link Builder#clusterNodes} or a client you own
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Whether {@code namespace} is acceptable: {@code [A-Za-z0-9._-]{1,64}}.
     *
     * @param namespace a candidate namespace
     * @return whether it is acceptable
     */
    public static boolean isValidNamespace(String namespace) {
        return SessionIds.isPlainName(namespace);
    }

    /**
     * The command timeout ({@code timeout}): a manager bounds its calls by twice this.
     *
     * @return the command timeout ({@code timeout}): a manager bounds its calls by twice this
     */
    @Override
    public Duration timeout() {
        return commandTimeout;
    }

    /**
     * Whether this storage talks to a Redis Cluster.
     *
     * @return whether this storage talks to a Redis Cluster
     */
    public boolean isCluster() {
        return cluster;
    }

    // ---- operations ----

    @Override
    protected CompletableFuture<Void> doStore(SessionState state, byte[] record, Duration ttl) {
        return write(state, record, ttl, null).thenApply(written -> null);
    }

    @Override
    protected CompletableFuture<Boolean> doReplace(SessionState state, byte[] record, long expectedVersion,
            Duration ttl) {
        return write(state, record, ttl, expectedVersion);
    }

    private CompletableFuture<Boolean> write(SessionState state, byte[] record, Duration ttl, Long expectedVersion) {
        String id = state.sessionId();
        return nearCacheAround(id, () -> corruptIfDamaged(id, writeUnchecked(state, record, ttl, expectedVersion)));
    }

    /**
     * A change of a session's data key, with this instance's near-cache copy dropped before it is
     * sent and again when it has finished, whatever the outcome: a read that raced it cannot leave
     * the old value cached, and a failed compare-and-set (another instance's newer version) is not
     * retried against a copy whose invalidation has not arrived yet.
     */
    private <T> CompletableFuture<T> nearCacheAround(String id, Supplier<CompletableFuture<T>> change) {
        if (nearCache == null) {
            return change.get();
        }
        String key = dataKey(id);
        nearCache.invalidate(key);
        CompletableFuture<T> done;
        try {
            done = change.get();
        } catch (RuntimeException e) {
            nearCache.invalidate(key);
            throw e;
        }
        return done.whenComplete((value, error) -> nearCache.invalidate(key));
    }

    /**
     * Turns the server's report of a damaged data key (a key of another type, a version field that
     * is not a number) into {@link CorruptSessionException}: only calls that touch the key fail.
     */
    private <T> CompletableFuture<T> corruptIfDamaged(String id, CompletableFuture<T> call) {
        return call.handle((value, error) -> {
            if (error == null) {
                return value;
            }
            Throwable cause = causeOf(error);
            String message = String.valueOf(cause.getMessage());
            if (cause instanceof RedisCommandExecutionException && message.contains("SBTOOLARGE")) {
                String size = message.substring(message.indexOf("SBTOOLARGE") + "SBTOOLARGE".length()).trim()
                        .split("\\s", 2)[0];
                throw recordTooLarge(id, Long.parseLong(size), "data key " + dataKey(id));
            }
            if (cause instanceof RedisCommandExecutionException
                    && (message.contains("WRONGTYPE") || message.contains("SBCORRUPT"))) {
                throw new CorruptSessionException(RedisStorageProvider.NAME, id, "data key " + dataKey(id)
                        + " is damaged: " + (message.contains("WRONGTYPE") || message.contains("not a hash")
                                ? "it is not a hash" : "its version field is not a number"), cause);
            }
            throw new java.util.concurrent.CompletionException(cause);
        });
    }

    private CompletableFuture<Boolean> writeUnchecked(SessionState state, byte[] record, Duration ttl,
            Long expectedVersion) {
        String id = state.sessionId();
        byte[] ttlMillis = number(Math.max(1, ttl.toMillis()));
        byte[] indexTtlMillis = number(Math.max(1, ttl.toMillis()) + INDEX_GRACE.toMillis());
        byte[] expiresAt = number(state.expiresAt().toEpochMilli());
        byte[] expected = expectedVersion == null ? EMPTY : number(expectedVersion);
        // Lettuce re-sends commands that were in flight when a connection broke: the write id lets
        // the script recognise a second delivery of this very write and report it as done.
        byte[] writeId = utf8(io.sessionbuddy.core.SessionIds.generate()); // 128 random bits
        String userIndex = userIndexPrefix + state.userId();
        String projectIndex = projectIndexPrefix + state.projectId();
        if (!cluster) {
            return this.<Long>script(RedisScripts.WRITE_WITH_INDEXES, ScriptOutputType.INTEGER,
                    eventStream == null ? new String[] {dataKey(id), userIndex, projectIndex}
                            : new String[] {dataKey(id), userIndex, projectIndex, eventStream},
                    record, number(state.version()), utf8(state.userId()), utf8(state.projectId()), ttlMillis,
                    expiresAt, utf8(userIndexPrefix), utf8(projectIndexPrefix), utf8(id), expected, indexTtlMillis,
                    writeId, number(eventStreamMaxLength), utf8(userOrderPrefix), utf8(projectOrderPrefix))
                    .thenCompose(result -> result == 1L ? replicated(id).thenApply(done -> true)
                            : CompletableFuture.completedFuture(false));
        }
        Supplier<CompletableFuture<Boolean>> addEntries = () -> addIndexEntries(id, userIndex, projectIndex, expiresAt,
                indexTtlMillis);
        return addEntries.get()
                .thenCompose(indexed -> this.<List<Object>>script(RedisScripts.WRITE_DATA, ScriptOutputType.MULTI,
                        withSlotStream(dataKey(id)), record, number(state.version()), utf8(state.userId()),
                        utf8(state.projectId()), ttlMillis, expected, writeId, utf8(id), number(eventStreamMaxLength),
                        utf8(io.sessionbuddy.core.SessionManager.ROTATED_OWNER)))
                .thenCompose(result -> {
                    if (((Long) result.get(0)) != 1L) {
                        return CompletableFuture.completedFuture(false);
                    }
                    ringBell(dataKey(id));
                    // Entries again: a listing between the first add and the data write may have
                    // repaired them away as pointing to missing data.
                    return addEntries.get()
                            .thenCompose(again -> removeMovedEntries(id, text(result.get(1)), state.userId(),
                                    text(result.get(2)), state.projectId()))
                            .thenApply(done -> true);
                });
    }

    /**
     * With {@code wait_for_replicas}: waits until that many replicas have every write of this
     * connection so far (Redis {@code WAIT}), or fails saying how many confirmed it.
     */
    private CompletableFuture<Void> replicated(String id) {
        if (waitForReplicas == 0) {
            return CompletableFuture.completedFuture(null);
        }
        return ((io.lettuce.core.api.async.RedisAsyncCommands<String, byte[]>) commands())
                .waitForReplication(waitForReplicas, Math.max(1, commandTimeout.toMillis() / 2))
                .toCompletableFuture().thenApply(acked -> {
                    if (acked < waitForReplicas) {
                        // Not "outcome unknown": the manager would then read it back from the master and
                        // call it done, though a failover could still lose it. Not acknowledged.
                        throw new SessionStorageException(RedisStorageProvider.NAME, id, "stored on the"
                                + " master, but only " + acked + " of " + waitForReplicas + " replicas confirmed it"
                                + " (wait_for_replicas): not acknowledged, a failover now could lose it", null);
                    }
                    return null;
                });
    }

    private CompletableFuture<Void> removeMovedEntries(String id, String oldUser, String newUser, String oldProject,
            String newProject) {
        List<CompletableFuture<Long>> removals = new ArrayList<>();
        if (!oldUser.isEmpty() && !oldUser.equals(newUser)) {
            removals.add(removeEntries(userIndexPrefix + oldUser, List.of(utf8(id))));
        }
        if (!oldProject.isEmpty() && !oldProject.equals(newProject)) {
            removals.add(removeEntries(projectIndexPrefix + oldProject, List.of(utf8(id))));
        }
        return CompletableFuture.allOf(removals.toArray(CompletableFuture[]::new));
    }

    /** Cluster: removes entries from an index and its order set ({@link RedisScripts#INDEX_REMOVE}). */
    private CompletableFuture<Long> removeEntries(String index, List<byte[]> ids) {
        return script(RedisScripts.INDEX_REMOVE, ScriptOutputType.INTEGER, new String[] {index, orderSet(index)},
                ids.toArray(byte[][]::new));
    }

    /**
     * The order set of an index: its ids scored 0, so in the order of their bytes, for pages
     * ({@link RedisScripts#PAGE}). Standalone {@code <namespace>:idx:byid:user:<user>} (and
     * {@code project:}), a name the scripts build for another owner as they build its index's.
     * Cluster: {@code <namespace>:idx:byid:{<tag>}user:<user>}, the tag chosen to hash to the
     * index key's slot (the first number in base 36 that does), so that a script reaches both.
     */
    String orderSet(String index) {
        boolean users = index.startsWith(userIndexPrefix);
        String owner = index.substring(users ? userIndexPrefix.length() : projectIndexPrefix.length());
        if (!cluster) {
            return (users ? userOrderPrefix : projectOrderPrefix) + owner;
        }
        return orderSetPrefix + "{" + SlotTags.of(io.lettuce.core.cluster.SlotHash.getSlot(index)) + "}"
                + (users ? "user:" : "project:") + owner;
    }

    /** For each of Redis Cluster's 16,384 slots, the first number (in base 36) whose key hashes to it. */
    static final class SlotTags {
        private static final String[] TAGS = build();

        private SlotTags() {
        }

        static String of(int slot) {
            return TAGS[slot];
        }

        private static String[] build() {
            String[] tags = new String[io.lettuce.core.cluster.SlotHash.SLOT_COUNT];
            int found = 0;
            for (int i = 0; found < tags.length; i++) {
                String tag = Integer.toString(i, 36);
                int slot = io.lettuce.core.cluster.SlotHash.getSlot(tag);
                if (tags[slot] == null) {
                    tags[slot] = tag;
                    found++;
                }
            }
            return tags;
        }
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        String key = dataKey(sessionId);
        if (nearCache == null) {
            return read(sessionId, key);
        }
        Optional<SessionState> cached = nearCache.get(key);
        if (cached != null) {
            return CompletableFuture.completedFuture(cached);
        }
        RedisNearCache.Ticket ticket = nearCache.beginRead(key);
        if (ticket == null) {
            return read(sessionId, key);
        }
        CompletableFuture<Optional<SessionState>> read;
        try {
            read = read(sessionId, key);
        } catch (RuntimeException e) {
            nearCache.abandonRead(key, ticket);
            throw e;
        }
        // filled on the thread that decoded it, if no invalidation of the key arrived meanwhile
        return read.whenComplete((found, error) -> {
            if (error == null) {
                nearCache.endRead(key, ticket, found);
            } else {
                nearCache.abandonRead(key, ticket);
            }
        });
    }

    /** The bounded read of {@code sessionId}'s data key {@code key}, decoded off the event loop. */
    private CompletableFuture<Optional<SessionState>> read(String sessionId, String key) {
        CompletableFuture<List<Object>> read = this.<List<Object>>script(RedisScripts.READ_BOUNDED,
                ScriptOutputType.MULTI, new String[] {key}, number(maxRecordBytes()));
        // decoded off Lettuce's event loop, which then reads the next reply: by a caller waiting for
        // it, or on the codec pool (see decodeAfter)
        return decodeAfter(corruptIfDamaged(sessionId, read), fields -> readFields(sessionId, key, fields));
    }

    /**
     * The session in a read script's reply {record, version, touched}: empty for an empty reply or
     * no record; the record's version must be the version field's (an older record put back is
     * damaged), and a touch's expiry for this version applies.
     */
    private Optional<SessionState> readFields(String sessionId, String key, List<Object> fields) {
        if (fields == null || fields.isEmpty() || fields.get(0) == null) {
            return Optional.empty();
        }
        SessionState state = decode(sessionId, (byte[]) fields.get(0));
        String stored = fields.size() > 1 && fields.get(1) != null ? text(fields.get(1)) : null;
        if (stored != null && !stored.equals(Long.toString(state.version()))) {
            throw new CorruptSessionException(RedisStorageProvider.NAME, sessionId, "data key " + key
                    + " holds a record of version " + state.version() + " but its version field says " + stored
                    + ": an older record was put back", CorruptSessionException.Reason.VERSION_MISMATCH, null);
        }
        return Optional.of(touched(state, fields.size() > 2 ? fields.get(2) : null));
    }

    /**
     * {@code state} with the expiry of a touch ({@link RedisScripts#TOUCH}) when the hash's
     * {@code e} field ('&lt;version&gt;:&lt;epoch ms&gt;') was written for this very version.
     */
    private static SessionState touched(SessionState state, Object field) {
        if (field == null) {
            return state;
        }
        String text = text(field);
        String version = Long.toString(state.version());
        if (text.indexOf(':') != version.length() || !text.startsWith(version)) {
            return state; // empty, or written for an older version: the record's own expiry counts
        }
        int colon = version.length();
        try {
            java.time.Instant at = java.time.Instant.ofEpochMilli(Long.parseLong(text.substring(colon + 1)));
            return at.equals(state.expiresAt()) ? state : state.withExpiresAt(at);
        } catch (NumberFormatException e) {
            return state;
        }
    }

    /**
     * Moves the key's expiry, the touched-expiry field and both index scores, in one script on
     * standalone Redis; in a cluster the data key's script and then the index entries (as a write
     * does). Neither reads nor decodes the record.
     */
    @Override
    protected CompletableFuture<Boolean> doTouch(String sessionId, java.time.Instant expiresAt, Duration ttl) {
        return nearCacheAround(sessionId, () -> corruptIfDamaged(sessionId, touch(sessionId, expiresAt, ttl)));
    }

    /**
     * ARGV of the standalone {@link RedisScripts#TOUCH} (and the first ones of
     * {@link RedisScripts#READ_TOUCHED}): ttl ms, expires-at ms, user and project index prefixes,
     * id, index ttl ms, the rotation markers' owner, user and project order-set prefixes.
     */
    private byte[][] standaloneTouchArguments(String sessionId, java.time.Instant expiresAt, Duration ttl) {
        return new byte[][] {number(Math.max(1, ttl.toMillis())), number(expiresAt.toEpochMilli()),
            utf8(userIndexPrefix), utf8(projectIndexPrefix), utf8(sessionId),
            number(Math.max(1, ttl.toMillis()) + INDEX_GRACE.toMillis()),
            utf8(io.sessionbuddy.core.SessionManager.ROTATED_OWNER), utf8(userOrderPrefix), utf8(projectOrderPrefix)};
    }

    /**
     * Standalone touch and bounded read in one script ({@link RedisScripts#READ_TOUCHED}), decoded
     * off the event loop as a read is.
     */
    private CompletableFuture<Optional<SessionState>> readTouched(String sessionId, java.time.Instant expiresAt,
            Duration ttl) {
        String key = dataKey(sessionId);
        byte[][] touchArguments = standaloneTouchArguments(sessionId, expiresAt, ttl);
        byte[][] arguments = java.util.Arrays.copyOf(touchArguments, touchArguments.length + 1);
        arguments[touchArguments.length] = number(maxRecordBytes());
        CompletableFuture<List<Object>> reply = this.<List<Object>>script(RedisScripts.READ_TOUCHED,
                ScriptOutputType.MULTI, new String[] {key}, arguments);
        return decodeAfter(corruptIfDamaged(sessionId, reply), fields -> readFields(sessionId, key, fields));
    }

    private CompletableFuture<Boolean> touch(String sessionId, java.time.Instant expiresAt, Duration ttl) {
        if (!cluster) {
            return this.<Long>script(RedisScripts.TOUCH, ScriptOutputType.INTEGER, new String[] {dataKey(sessionId)},
                    standaloneTouchArguments(sessionId, expiresAt, ttl)).thenApply(n -> n == 1L);
        }
        byte[] ttlMillis = number(Math.max(1, ttl.toMillis()));
        byte[] at = number(expiresAt.toEpochMilli());
        byte[] indexTtlMillis = number(Math.max(1, ttl.toMillis()) + INDEX_GRACE.toMillis());
        byte[] reserved = utf8(io.sessionbuddy.core.SessionManager.ROTATED_OWNER);
        return this.<List<Object>>script(RedisScripts.TOUCH_DATA, ScriptOutputType.MULTI,
                new String[] {dataKey(sessionId)}, ttlMillis, at, reserved).thenCompose(result -> {
                    if (((Long) result.get(0)) != 1L) {
                        return CompletableFuture.completedFuture(false);
                    }
                    return addIndexEntries(sessionId, userIndexPrefix + text(result.get(1)),
                            projectIndexPrefix + text(result.get(2)), at, indexTtlMillis);
                });
    }

    /**
     * Cluster: a session's entries in its user and project indexes ({@link RedisScripts#INDEX_ADD},
     * scores only raised), each in its own slot.
     */
    private CompletableFuture<Boolean> addIndexEntries(String id, String userIndex, String projectIndex,
            byte[] expiresAt, byte[] indexTtlMillis) {
        CompletableFuture<Long> userEntry = script(RedisScripts.INDEX_ADD, ScriptOutputType.INTEGER,
                new String[] {userIndex, orderSet(userIndex)}, expiresAt, utf8(id), indexTtlMillis);
        CompletableFuture<Long> projectEntry = script(RedisScripts.INDEX_ADD, ScriptOutputType.INTEGER,
                new String[] {projectIndex, orderSet(projectIndex)}, expiresAt, utf8(id), indexTtlMillis);
        return userEntry.thenCombine(projectEntry, (a, b) -> true);
    }

    /**
     * Standalone: the copy, its index entries, the marker in the old record's place and the removal
     * of the old entries in one atomic script ({@link RedisScripts#MOVE}); a cluster (the two keys
     * in different slots) takes the default steps, each with its own compare-and-set.
     */
    @Override
    protected CompletableFuture<Boolean> doMove(SessionState copy, byte[] copyRecord, Duration ttl, SessionState marker,
            byte[] markerRecord, long expectedVersion, Duration markerTtl) {
        if (cluster) {
            return super.doMove(copy, copyRecord, ttl, marker, markerRecord, expectedVersion, markerTtl);
        }
        String newId = copy.sessionId();
        String oldId = marker.sessionId();
        String[] keys = eventStream == null
                ? new String[] {dataKey(newId), dataKey(oldId), userIndexPrefix + copy.userId(),
                        projectIndexPrefix + copy.projectId()}
                : new String[] {dataKey(newId), dataKey(oldId), userIndexPrefix + copy.userId(),
                        projectIndexPrefix + copy.projectId(), eventStream};
        return nearCacheAround(newId, () -> nearCacheAround(oldId, () -> corruptIfDamaged(oldId,
                this.<Long>script(RedisScripts.MOVE, ScriptOutputType.INTEGER, keys,
                        copyRecord, number(copy.version()), utf8(copy.userId()), utf8(copy.projectId()),
                        number(Math.max(1, ttl.toMillis())), number(copy.expiresAt().toEpochMilli()),
                        utf8(userIndexPrefix), utf8(projectIndexPrefix), utf8(newId), utf8(oldId),
                        number(expectedVersion), number(Math.max(1, ttl.toMillis()) + INDEX_GRACE.toMillis()),
                        markerRecord, number(marker.version()), utf8(marker.userId()),
                        number(Math.max(1, markerTtl.toMillis())), utf8(io.sessionbuddy.core.SessionIds.generate()),
                        number(eventStreamMaxLength), utf8(userOrderPrefix), utf8(projectOrderPrefix))
                        .thenCompose(moved -> moved == 1L ? replicated(oldId).thenApply(done -> true)
                                : CompletableFuture.completedFuture(false)))));
    }

    /**
     * Standalone: the touch and the read are one script ({@link RedisScripts#READ_TOUCHED}: one
     * command, one round trip, one reply). With the near cache on, the touch and the read are sent
     * together, pipelined on the one connection (the server runs the touch first, so the read, which
     * the near cache may answer, sees its expiry). Cluster: one after the other (the touch's index
     * entries live in other slots).
     */
    @Override
    protected CompletableFuture<Optional<SessionState>> doTouchAndRetrieve(String sessionId,
            java.time.Instant expiresAt, Duration ttl) {
        if (cluster) {
            return super.doTouchAndRetrieve(sessionId, expiresAt, ttl);
        }
        if (nearCache == null) {
            return readTouched(sessionId, expiresAt, ttl);
        }
        CompletableFuture<Boolean> touched = doTouch(sessionId, expiresAt, ttl);
        CompletableFuture<Optional<SessionState>> read = doRetrieve(sessionId);
        // combined from the read, so that a caller waiting on the result decodes the reply itself
        // (a future derived from the touch would leave the decoding to the pool: one more thread hop)
        return read.thenCombine(touched, (found, moved) -> moved ? found : Optional.<SessionState>empty());
    }

    /**
     * Reads are pipelined on the one connection: a bulk read sends up to 256 before the first reply.
     *
     * @return reads are pipelined on the one connection: a bulk read sends up to 256 before the first reply
     */
    @Override
    protected int bulkReadInFlight() {
        return 256;
    }

    @Override
    protected CompletableFuture<Boolean> doDelete(String sessionId) {
        return nearCacheAround(sessionId, () -> delete(sessionId));
    }

    private CompletableFuture<Boolean> delete(String sessionId) {
        if (!cluster) {
            return corruptIfDamaged(sessionId, this.<Long>script(RedisScripts.DELETE_WITH_INDEXES,
                    ScriptOutputType.INTEGER, eventStream == null ? new String[] {dataKey(sessionId)}
                            : new String[] {dataKey(sessionId), eventStream}, utf8(userIndexPrefix),
                    utf8(projectIndexPrefix), utf8(sessionId), number(eventStreamMaxLength), utf8(userOrderPrefix),
                    utf8(projectOrderPrefix)))
                    .thenApply(deleted -> deleted > 0);
        }
        return corruptIfDamaged(sessionId, this.<List<Object>>script(RedisScripts.DELETE_DATA,
                ScriptOutputType.MULTI, withSlotStream(dataKey(sessionId)), utf8(sessionId),
                number(eventStreamMaxLength)))
                .thenCompose(result -> {
                    boolean deleted = ((Long) result.get(0)) > 0;
                    if (deleted) {
                        ringBell(dataKey(sessionId));
                    }
                    return removeMovedEntries(sessionId, text(result.get(1)), "", text(result.get(2)), "")
                            .thenApply(done -> deleted);
                });
    }

    @Override
    protected CompletableFuture<List<String>> doListStoredIds() {
        return scanKeys(dataPrefix + "*").thenApply(keys -> keys.stream()
                .filter(k -> k.endsWith("}")).map(k -> idOfKey(k.substring(dataPrefix.length(), k.length() - 1)))
                .filter(SessionIds::isValid).sorted().toList());
    }

    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        CompletableFuture<List<String>> candidates;
        String index = null;
        if (userId != null) {
            index = userIndexPrefix + userId;
        } else if (projectId != null) {
            index = projectIndexPrefix + projectId;
        }
        if (index != null && !cluster) {
            // the pages' walk, each candidate checked (and repaired) in the script: one round trip
            // per 5,000 sessions instead of a read of every entry and a lookup per session
            return pageFrom(index, orderSet(index), "", new ArrayList<>(), userId, projectId, Integer.MAX_VALUE - 1)
                    .thenApply(io.sessionbuddy.core.SessionPage::ids);
        }
        if (index != null) {
            String key = index;
            long now = now().toEpochMilli();
            candidates = commands().zrangebyscore(key, Range.create(now + 1, Long.MAX_VALUE)).toCompletableFuture()
                    .thenApply(members -> members.stream().map(RedisSessionStorage::text).toList());
        } else {
            candidates = doListStoredIds();
        }
        String repairIndex = index;
        return candidates.thenCompose(ids -> verify(ids, userId, projectId, repairIndex)).thenApply(Verified::live);
    }

    /**
     * A page from the index's order set ({@link RedisScripts#PAGE}): the ids after the cursor, in
     * byte order (= {@link io.sessionbuddy.core.SessionPage#ORDER}), a batch at a time, each batch
     * checked against the sessions' data, until the page is full or no id follows. A page reads
     * what it lists (and the expired or stale entries between), never the whole index. Without a
     * filter: the default (the listing of every session, cut).
     */
    @Override
    protected CompletableFuture<io.sessionbuddy.core.SessionPage> doListPage(String userId, String projectId,
            String lastId, int limit) {
        if (userId == null && projectId == null) {
            return super.doListPage(userId, projectId, lastId, limit);
        }
        String index = userId != null ? userIndexPrefix + userId : projectIndexPrefix + projectId;
        return pageFrom(index, orderSet(index), lastId == null ? "" : lastId, new ArrayList<>(), userId, projectId,
                limit);
    }

    /** The most index entries one {@link RedisScripts#PAGE} call reads beyond the candidates wanted. */
    static final int PAGE_READ_BUDGET = 1_000;

    /**
     * One batch of candidates after {@code after}, checked, added to {@code live}; then the next, if
     * needed. Standalone, the script checks each candidate's data itself (one round trip per batch);
     * in a cluster, the candidates are checked here ({@link #verify}), their data being in other slots.
     */
    private CompletableFuture<io.sessionbuddy.core.SessionPage> pageFrom(String index, String orderSet, String after,
            List<String> live, String userId, String projectId, int limit) {
        // one more than the page (whether another page follows), at most 5,000 per script call
        int want = (int) Math.min(5_000L, (long) limit + 1 - live.size());
        boolean users = userId != null;
        String owner = users ? userId : projectId;
        return this.<List<Object>>script(RedisScripts.PAGE, ScriptOutputType.MULTI, new String[] {index, orderSet},
                utf8(after), number(want), number(want + PAGE_READ_BUDGET), number(now().toEpochMilli()),
                cluster ? EMPTY : utf8(dataPrefix), utf8(users ? "u" : "p"), utf8(owner),
                users && projectId != null ? utf8(projectId) : EMPTY)
                .thenCompose(batch -> {
                    String last = text(batch.get(0));
                    boolean end = ((Long) batch.get(1)) == 1L;
                    List<String> toCheck = new ArrayList<>();
                    for (int i = 2; i < batch.size(); i++) {
                        String entry = text(batch.get(i));
                        String id = entry.substring(1);
                        switch (entry.charAt(0)) {
                            case 'l' -> live.add(id);
                            case 'c' -> toCheck.add(id);
                            case 'd' -> reportDamaged(id, "the key is not a hash, or the hash lacks its user or project");
                            case 'a' -> {
                                if (users) {
                                    expiredByRepair(id, owner);
                                }
                            }
                            default -> {
                                // 'm': the entry of a session that moved to another owner, removed
                            }
                        }
                    }
                    CompletableFuture<List<String>> checked = toCheck.isEmpty()
                            ? CompletableFuture.completedFuture(List.of())
                            : verify(toCheck, userId, projectId, index).thenApply(Verified::live);
                    return checked.thenCompose(more -> {
                        live.addAll(more);
                        if (live.size() > limit) {
                            return CompletableFuture.completedFuture(
                                    io.sessionbuddy.core.SessionPage.of(live.subList(0, limit), true));
                        }
                        if (end || last.isEmpty()) {
                            return CompletableFuture.completedFuture(io.sessionbuddy.core.SessionPage.of(live, false));
                        }
                        return pageFrom(index, orderSet, last, live, userId, projectId, limit);
                    });
                });
    }

    /**
     * Keeps the ids whose data exists and matches the filters; removes from {@code index} the
     * entries whose data is gone or belongs to another user or project (lazy repair, conditional:
     * see {@link #repair}). A damaged data key (a hash missing fields, a key of another type) is
     * skipped and logged once; its entry stays, since "cannot read" is not "gone".
     */
    private CompletableFuture<Verified> verify(List<String> ids, String userId, String projectId, String index) {
        List<CompletableFuture<List<KeyValue<String, byte[]>>>> lookups = new ArrayList<>();
        for (String id : ids) {
            lookups.add(lookupOwner(id));
        }
        return CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new)).thenCompose(all -> {
            List<String> live = new ArrayList<>();
            List<String> stale = new ArrayList<>();
            int damaged = 0;
            for (int i = 0; i < ids.size(); i++) {
                List<KeyValue<String, byte[]>> fields = lookups.get(i).join();
                String id = ids.get(i);
                String user = fields == null || !fields.get(0).hasValue() ? null : text(fields.get(0).getValue());
                String project = fields == null || !fields.get(1).hasValue() ? null : text(fields.get(1).getValue());
                if (fields != null && user == null && project == null) {
                    stale.add(id); // absent (or expired: Redis removed it)
                    continue;
                }
                if (user == null || project == null) {
                    damaged++;
                    reportDamaged(id, fields == null ? "the key is not a hash" : "the hash lacks its user or project");
                    continue;
                }
                boolean belongsToIndex = index == null || (userId != null ? user.equals(userId) : project.equals(projectId));
                if (!belongsToIndex) {
                    stale.add(id);
                } else if ((userId == null || user.equals(userId)) && (projectId == null || project.equals(projectId))) {
                    live.add(id);
                }
            }
            live.sort(io.sessionbuddy.core.SessionPage.ORDER);
            int damagedCount = damaged;
            if (index == null || stale.isEmpty()) {
                return CompletableFuture.completedFuture(new Verified(live, 0, damagedCount));
            }
            String field = userId != null ? "u" : "p";
            String owner = userId != null ? userId : projectId;
            return repair(index, field, owner, stale).thenApply(removed -> new Verified(live, removed, damagedCount));
        });
    }

    /** The user and project of a data key; {@code null} when the key is of another type (damaged). */
    private CompletableFuture<List<KeyValue<String, byte[]>>> lookupOwner(String id) {
        return commands().hmget(dataKey(id), "u", "p").toCompletableFuture()
                .handle((fields, error) -> {
                    if (error == null) {
                        return fields;
                    }
                    Throwable cause = causeOf(error);
                    if (cause instanceof RedisCommandExecutionException
                            && String.valueOf(cause.getMessage()).startsWith("WRONGTYPE")) {
                        return null;
                    }
                    throw new java.util.concurrent.CompletionException(cause);
                });
    }

    /**
     * Removes index entries that looked stale, only if they still are when removed. Standalone: one
     * script that checks each data key and removes in the same atomic step. Cluster (data keys in
     * other slots): the data is read again just before the removal, which narrows the window with
     * a concurrent move back to a few milliseconds; an entry removed in that window is re-added by
     * the next write of that session, and the write path adds entries before and after the data.
     */
    private CompletableFuture<Integer> repair(String index, String field, String owner, List<String> stale) {
        boolean users = field.equals("u");
        if (!cluster) {
            String[] keys = new String[stale.size() + 2];
            byte[][] args = new byte[stale.size() + 2][];
            keys[0] = index;
            keys[1] = orderSet(index);
            args[0] = utf8(field);
            args[1] = utf8(owner);
            for (int i = 0; i < stale.size(); i++) {
                keys[i + 2] = dataKey(stale.get(i));
                args[i + 2] = utf8(stale.get(i));
            }
            return this.<List<Object>>script(RedisScripts.REPAIR_INDEX, ScriptOutputType.MULTI, keys, args)
                    .thenApply(removed -> {
                        for (Object entry : removed) {
                            String text = text(entry);
                            if (users && text.startsWith("a")) {
                                expiredByRepair(text.substring(1), owner);
                            }
                        }
                        return removed.size();
                    });
        }
        List<CompletableFuture<List<KeyValue<String, byte[]>>>> again = new ArrayList<>();
        for (String id : stale) {
            again.add(lookupOwner(id));
        }
        return CompletableFuture.allOf(again.toArray(CompletableFuture[]::new)).thenCompose(all -> {
            List<byte[]> remove = new ArrayList<>();
            List<CompletableFuture<Integer>> absentRemovals = new ArrayList<>();
            int fieldIndex = users ? 0 : 1;
            for (int i = 0; i < stale.size(); i++) {
                List<KeyValue<String, byte[]>> fields = again.get(i).join();
                if (fields == null) {
                    continue;
                }
                KeyValue<String, byte[]> value = fields.get(fieldIndex);
                boolean absent = !fields.get(0).hasValue() && !fields.get(1).hasValue();
                String id = stale.get(i);
                if (absent && users) {
                    // one ZREM per entry: its reply says whether this instance removed it, so that of
                    // several instances repairing at once one reports the session as expired
                    absentRemovals.add(removeEntries(index, List.of(utf8(id))).thenApply(n -> {
                        if (n == 1L) {
                            expiredEntry(id, owner);
                            appendExpired(id, owner, index);
                        }
                        return n.intValue();
                    }));
                } else if (absent || (value.hasValue() && !text(value.getValue()).equals(owner))) {
                    remove.add(utf8(id));
                }
            }
            CompletableFuture<Integer> moved = remove.isEmpty() ? CompletableFuture.completedFuture(0)
                    : removeEntries(index, remove).thenApply(Long::intValue);
            return CompletableFuture.allOf(absentRemovals.toArray(CompletableFuture[]::new)).thenCombine(moved,
                    (done, count) -> count + absentRemovals.stream().mapToInt(CompletableFuture::join).sum());
        });
    }

    /**
     * A user-index entry whose data is gone was removed: the session expired (Redis removed its key
     * at its TTL) before a cleanup took the entry by its score. In Redis Cluster an entry's score can
     * be later than the session's expiry (a failed compare-and-set raises it), so this is where most
     * expired sessions are found there. Reported to observers as an expired session.
     */
    private void expiredEntry(String id, String userId) {
        observers().sessionExpired(RedisStorageProvider.NAME, id, userId, null);
    }

    /**
     * An expired session found by repair (its data gone before cleanup took the entry by score):
     * reported, and with the event stream appended to it right after the removal that decided this
     * instance reports it (not in the same step as that removal, unlike the other events).
     */
    private void expiredByRepair(String id, String userId) {
        expiredEntry(id, userId);
        appendExpired(id, userId, userIndexPrefix + userId);
    }

    /**
     * With events on, appends the {@code expired} event of a session found expired by repair: to
     * the stream, or in a cluster to the stream of the user index's slot (then rings the bell).
     */
    private void appendExpired(String id, String userId, String userIndex) {
        String stream = eventStreamFor(userIndex);
        if (stream == null) {
            return;
        }
        var unused = commands().xadd(stream, io.lettuce.core.XAddArgs.Builder.maxlen(eventStreamMaxLength)
                .approximateTrimming(), Map.of("type", utf8("expired"), "session", utf8(id), "user", utf8(userId),
                "project", utf8(""), "version", utf8("-1"))).thenRun(() -> ringBell(userIndex));
    }

    /**
     * The keys of a cluster script: {@code key}, and with events on the event stream of its slot
     * ({@link #eventStreamKey(String, int)}), which the script appends to in the same atomic step.
     */
    private String[] withSlotStream(String key) {
        return slotEvents == null ? new String[] {key} : new String[] {key, eventStreamFor(key)};
    }

    /**
     * The stream an event of a script on {@code key} goes to: the event stream, or in a cluster the
     * stream of the key's slot; {@code null} when events are off.
     */
    private String eventStreamFor(String key) {
        return eventStream != null ? eventStream
                : slotEvents != null ? eventStreamKey(slotEvents, io.lettuce.core.cluster.SlotHash.getSlot(key))
                : null;
    }

    /**
     * Cluster with events on: appends the slot of {@code key} to the bell stream
     * ({@link #eventBellKey}) after an event was appended to that slot's stream, so that consumers
     * waiting on the bell read it at once. Best effort and not waited for: an event whose bell is
     * lost (this process dies first, the command fails) is found by the consumers' periodic sweep
     * of every slot stream.
     */
    private void ringBell(String key) {
        if (slotEvents == null) {
            return;
        }
        int slot = io.lettuce.core.cluster.SlotHash.getSlot(key);
        commands().xadd(eventBellKey(slotEvents), io.lettuce.core.XAddArgs.Builder.maxlen(EVENT_BELL_MAX_LENGTH)
                .approximateTrimming(), Map.of("slot", number(slot))).whenComplete((entry, failure) -> {
                    if (failure != null) {
                        LOG.debug("[{}] bell for slot {} not rung (its event waits for the consumers' sweep): {}",
                                RedisStorageProvider.NAME, slot, failure.toString());
                    }
                });
    }

    private void reportDamaged(String id, String what) {
        if (reportedDamaged.size() < 10_000 && reportedDamaged.add(id)) {
            LOG.warn("[{}] session {}: data key {} is damaged ({}); listings skip it, cleanup leaves it",
                    RedisStorageProvider.NAME, id, dataKey(id), what);
        }
    }

    /** What {@link #verify} found: the live ids, the entries removed, the damaged records skipped. */
    private record Verified(List<String> live, int removed, int damaged) {
    }

    @Override
    protected CompletableFuture<Integer> doCleanup() {
        return repairIndexes(userIndexPrefix)
                .thenCombine(repairIndexes(projectIndexPrefix), (sessions, projectEntries) -> sessions);
    }

    /**
     * Drops expired entries and entries whose data is gone from every index under a prefix. The
     * expired entries of the user indexes are taken by one script per index ({@link
     * RedisScripts#TAKE_EXPIRED}) and reported to observers as expired sessions (each session is in
     * exactly one user index, and the script hands each entry to one cleaner only).
     */
    private CompletableFuture<Integer> repairIndexes(String prefix) {
        long now = now().toEpochMilli();
        boolean users = prefix.equals(userIndexPrefix);
        return scanKeys(prefix + "*").thenCompose(keys -> {
            List<CompletableFuture<Integer>> repairs = new ArrayList<>();
            List<CompletableFuture<Integer>> goneCounts = new ArrayList<>();
            for (String key : keys) {
                String owner = key.substring(prefix.length());
                String stream = users ? eventStreamFor(key) : null;
                String[] scriptKeys = stream != null ? new String[] {key, orderSet(key), stream}
                        : new String[] {key, orderSet(key)};
                CompletableFuture<Integer> expired = this.<List<Object>>script(RedisScripts.TAKE_EXPIRED,
                        ScriptOutputType.MULTI, scriptKeys, number(now), utf8(owner), number(eventStreamMaxLength))
                        .thenApply(ids -> {
                            if (users) {
                                for (Object id : ids) {
                                    expiredEntry(text(id), owner);
                                }
                                if (!ids.isEmpty()) {
                                    ringBell(key);
                                }
                            }
                            return ids.size();
                        });
                CompletableFuture<Integer> gone = expired.thenCompose(n -> commands().zrange(key, 0, -1).toCompletableFuture())
                        .thenCompose(members -> {
                            List<String> ids = members.stream().map(RedisSessionStorage::text).toList();
                            return verify(ids, users ? owner : null, users ? null : owner, key)
                                    .thenApply(Verified::removed);
                        });
                goneCounts.add(gone);
                repairs.add(expired.thenCombine(gone, Integer::sum));
            }
            return CompletableFuture.allOf(repairs.toArray(CompletableFuture[]::new)).thenApply(done -> {
                int repaired = goneCounts.stream().mapToInt(CompletableFuture::join).sum();
                if (repaired > 0) {
                    observers().indexRepaired(RedisStorageProvider.NAME, repaired);
                }
                return repairs.stream().mapToInt(CompletableFuture::join).sum();
            });
        });
    }

    @Override
    protected CompletableFuture<Boolean> doPing() {
        return commands().ping().toCompletableFuture().thenApply("PONG"::equals);
    }

    @Override
    protected void doClose() {
        if (watchedClient != null) {
            watchedClient.removeListener(connectionEvents);
        }
        StatefulConnection<String, byte[]> open = connection;
        if (open != null) {
            open.close();
        }
        if (ownedClient != null) {
            ownedClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        if (ownedResources != null) {
            var unused = ownedResources.shutdown(0, 2, TimeUnit.SECONDS); // not waited for
        }
    }

    // ---- helpers ----

    private String dataKey(String id) {
        return dataPrefix + keyId(id) + "}";
    }

    /**
     * The id as it appears in its data key {@code <namespace>:{<id>}}: {@code %}, <code>{</code> and
     * <code>}</code> written as {@code %25}, {@code %7B}, {@code %7D}, so that the key's hash tag is
     * always the whole id and a session's key stays in one cluster slot whatever braces the id holds.
     * Ids without those characters (every id of earlier versions) are unchanged.
     */
    static String keyId(String id) {
        int n = id.length();
        int i = 0;
        while (i < n && id.charAt(i) != '%' && id.charAt(i) != '{' && id.charAt(i) != '}') {
            i++;
        }
        if (i == n) {
            return id;
        }
        StringBuilder key = new StringBuilder(n + 8).append(id, 0, i);
        for (; i < n; i++) {
            char c = id.charAt(i);
            switch (c) {
                case '%' -> key.append("%25");
                case '{' -> key.append("%7B");
                case '}' -> key.append("%7D");
                default -> key.append(c);
            }
        }
        return key.toString();
    }

    /** The id of a data key's middle part ({@link #keyId} reversed), or {@code null} if it is not one. */
    static String idOfKey(String keyId) {
        if (keyId.indexOf('%') < 0) {
            return keyId.indexOf('{') < 0 && keyId.indexOf('}') < 0 ? keyId : null;
        }
        StringBuilder id = new StringBuilder(keyId.length());
        for (int i = 0; i < keyId.length(); i++) {
            char c = keyId.charAt(i);
            if (c == '%') {
                String code = keyId.startsWith("25", i + 1) ? "%" : keyId.startsWith("7B", i + 1) ? "{"
                        : keyId.startsWith("7D", i + 1) ? "}" : null;
                if (code == null) {
                    return null;
                }
                id.append(code);
                i += 2;
            } else if (c == '{' || c == '}') {
                return null;
            } else {
                id.append(c);
            }
        }
        return id.toString();
    }

    private SessionState decode(String id, byte[] bytes) {
        return decode(id, bytes, "key " + dataKey(id));
    }

    /** The event stream, a cluster's slot streams, bell and consumer groups' start marks: this backend's own keys. */
    private static boolean isEventKey(String namespace, String key) {
        return key.equals(eventStreamKey(namespace)) || key.equals(eventBellKey(namespace))
                || key.startsWith(namespace + ":events:{") || key.startsWith(namespace + ":events:group:");
    }

    /**
     * The original store's layouts on this Redis: the seed's ACB keys {@code <namespace>:<id>} beside
     * this backend's own {@code <namespace>:{<id>}} (the original's {@code acb} config with
     * {@code cache_type: redis} opens this backend on the seed's namespace), the original's Redis layout
     * {@code session_mgmt:session:<id>}, and the later ACB library's {@code <app>:session:index}.
     */
    @Override
    public CompletableFuture<List<String>> otherLayouts() {
        String namespace = dataPrefix.substring(0, dataPrefix.length() - 2);
        String ownIndex = namespace + ":idx:";
        CompletableFuture<List<String>> acb = scanKeys(namespace + ":*").thenApply(keys -> keys.stream()
                .filter(k -> !k.startsWith(dataPrefix) && !k.startsWith(ownIndex) && !isEventKey(namespace, k))
                .sorted().toList());
        CompletableFuture<Set<String>> original = scanKeys(LegacyRedisSessionStorage.DEFAULT_KEY_PREFIX + "session:*");
        CompletableFuture<Set<String>> later = scanKeys("*:session:index");
        return acb.thenCompose(acbKeys -> original.thenCombine(later, (originalKeys, laterKeys) -> {
            List<String> found = new ArrayList<>();
            if (!acbKeys.isEmpty()) {
                found.add(acbKeys.size() + " keys of the seed's ACB layout (aiocache pickles, e.g. " + acbKeys.get(0)
                        + "): read them with \"storage_backend\": \"" + LegacyAcbSessionStorage.NAME
                        + "\" and backends.acb.namespace \"" + namespace + "\"");
            }
            if (!originalKeys.isEmpty()) {
                found.add(originalKeys.size() + " keys of the original Python store's Redis layout (e.g. "
                        + originalKeys.stream().sorted().findFirst().orElseThrow() + "): read them with"
                        + " \"storage_backend\": \"" + LegacyRedisSessionStorage.NAME + "\"");
            }
            for (String index : laterKeys.stream().sorted().toList()) {
                if (!index.equals(namespace + ":session:index")) {
                    found.add("the later ACB library's layout (" + index + " and its " + index.substring(0,
                            index.length() - "index".length()) + "<id> keys, brotli-compressed msgpack or signed"
                            + " pickle): not read by this project; export those sessions with the ACB library");
                }
            }
            return List.copyOf(found);
        }));
    }

    private CompletableFuture<Set<String>> scanKeys(String pattern) {
        return scanKeys(commands(), pattern);
    }

    /** Every key matching {@code pattern}, with {@code SCAN} (never {@code KEYS}); shared with the legacy reader. */
    static CompletableFuture<Set<String>> scanKeys(RedisClusterAsyncCommands<String, byte[]> commands, String pattern) {
        Set<String> keys = new LinkedHashSet<>();
        ScanArgs args = ScanArgs.Builder.matches(pattern).limit(1000);
        return scanFrom(commands, ScanCursor.INITIAL, args, keys).thenApply(done -> keys);
    }

    private static CompletableFuture<Void> scanFrom(RedisClusterAsyncCommands<String, byte[]> commands,
            ScanCursor cursor, ScanArgs args, Set<String> keys) {
        CompletionStage<KeyScanCursor<String>> page = cursor == ScanCursor.INITIAL
                ? commands.scan(args) : commands.scan(cursor, args);
        return page.toCompletableFuture().thenCompose(result -> {
            keys.addAll(result.getKeys());
            return result.isFinished() ? CompletableFuture.completedFuture(null)
                    : scanFrom(commands, result, args, keys);
        });
    }

    /** EVALSHA, falling back to EVAL once when the server does not have the script yet. */
    private <T> CompletableFuture<T> script(RedisScripts script, ScriptOutputType type, String[] keys, byte[]... args) {
        return script(script, type, keys, 0L, args);
    }

    /**
     * {@link #script(RedisScripts, ScriptOutputType, String[], byte[]...)}; in a cluster, a script
     * refused with {@code TRYAGAIN} (its keys' slot is migrating and they are on two nodes at the
     * moment; Redis ran nothing) is sent again every 20 ms until the command timeout has passed
     * since the first attempt ({@code retryUntil}, 0 on the first).
     */
    private <T> CompletableFuture<T> script(RedisScripts script, ScriptOutputType type, String[] keys, long retryUntil,
            byte[]... args) {
        CompletableFuture<T> first = commands().<T>evalsha(script.sha1(), type, keys, args).toCompletableFuture();
        return first.exceptionallyCompose(error -> {
            Throwable cause = causeOf(error);
            if (cause instanceof RedisNoScriptException) {
                return commands().<T>eval(script.body(), type, keys, args).toCompletableFuture()
                        .exceptionallyCompose(again -> tryAgain(script, type, keys, retryUntil, args, again));
            }
            if (isTryAgain(cause)) {
                return tryAgain(script, type, keys, retryUntil, args, cause);
            }
            if (nearCache != null && cause instanceof io.lettuce.core.RedisCommandTimeoutException) {
                // a frozen connection delivers no invalidations either: stop trusting the copies
                StatefulConnection<String, byte[]> open = connection;
                if (open != null) {
                    nearCache.track(standalone(open));
                }
            }
            return CompletableFuture.<T>failedFuture(cause);
        });
    }

    /** The failure inside a {@link java.util.concurrent.CompletionException}, or {@code error} itself. */
    static Throwable causeOf(Throwable error) {
        return error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                ? error.getCause() : error;
    }

    private static boolean isTryAgain(Throwable cause) {
        return cause instanceof RedisCommandExecutionException
                && String.valueOf(cause.getMessage()).startsWith("TRYAGAIN");
    }

    /** After a {@code TRYAGAIN}: the script again in 20 ms, or a failure saying it was not applied. */
    private <T> CompletableFuture<T> tryAgain(RedisScripts script, ScriptOutputType type, String[] keys,
            long retryUntil, byte[][] args, Throwable error) {
        Throwable cause = causeOf(error);
        if (!isTryAgain(cause)) {
            return CompletableFuture.failedFuture(cause);
        }
        long now = System.nanoTime();
        long until = retryUntil != 0 ? retryUntil : now + commandTimeout.toNanos();
        if (now - until >= 0) {
            return CompletableFuture.failedFuture(new SessionStorageException(RedisStorageProvider.NAME, null,
                    "not applied: Redis refused the script on " + String.join(", ", keys) + " with TRYAGAIN for "
                    + commandTimeout.toMillis() + " ms (their slot is migrating and the keys are on two nodes)", cause));
        }
        return CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(20,
                java.util.concurrent.TimeUnit.MILLISECONDS)).thenCompose(wait -> script(script, type, keys, until, args));
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] number(long value) {
        return utf8(Long.toString(value));
    }

    private static String text(Object value) {
        return value == null ? "" : new String((byte[]) value, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "RedisSessionStorage[" + where + ", " + dataPrefix.substring(0, dataPrefix.length() - 2) + "]";
    }

    /** Builds a {@link RedisSessionStorage}. */
    public static final class Builder {
        private RedisURI uri;
        private List<RedisURI> clusterNodes;
        private RedisClient client;
        private RedisClusterClient clusterClient;
        private String namespace = DEFAULT_NAMESPACE;
        private Duration timeout = DEFAULT_TIMEOUT;
        private Duration defaultTtl = SessionBuddyConfig.DEFAULT_TTL;
        private StoredFormat storedFormat = StoredFormat.defaults();
        private Clock clock = Clock.systemUTC();
        private java.nio.file.Path trustedCertificates;
        private int waitForReplicas;
        private boolean eventStream;
        private long eventStreamMaxLength = DEFAULT_EVENT_STREAM_MAX_LENGTH;
        private long nearCacheSize;
        private Duration nearCacheMaxAge = DEFAULT_NEAR_CACHE_MAXIMUM_AGE;

        private Builder() {
        }

        /**
         * Turns the near cache on (standalone and Sentinel only): up to {@code maximumSize} decoded
         * sessions are kept in this process and served without a round trip, and Redis keeps them
         * correct with RESP3 client tracking; an entry is also dropped {@code maximumAge} after it
         * was read, whatever happens. Compare-and-set still happens on the server.
         *
         * @param maximumSize the most sessions held; {@code 0} turns the near cache off
         * @param maximumAge how long an entry is used at most ({@link #DEFAULT_NEAR_CACHE_MAXIMUM_AGE} by default)
         * @return this builder
         * @throws IllegalArgumentException for a negative size or a non-positive age
         */
        public Builder nearCache(long maximumSize, Duration maximumAge) {
            if (maximumSize < 0) {
                throw new IllegalArgumentException("near cache maximum size must not be negative, was " + maximumSize);
            }
            if (maximumAge.isNegative() || maximumAge.isZero()) {
                throw new IllegalArgumentException("near cache maximum age must be positive, was " + maximumAge);
            }
            nearCacheSize = maximumSize;
            nearCacheMaxAge = maximumAge;
            return this;
        }

        /**
         * PEM certificates of the certificate authorities to trust for TLS ({@code rediss://}),
         * instead of the JVM's default trust store. Used with a client this builder creates.
         *
         * @param pemFile the PEM file
         * @return this builder
         */
        public Builder trustedCertificates(java.nio.file.Path pemFile) {
            trustedCertificates = Objects.requireNonNull(pemFile, "pemFile");
            return this;
        }

        /**
         * Appends every store, replace, delete and expiry to the Redis Stream {@code <namespace>:events}
         * in the same atomic step as the write, for {@link RedisSessionEventConsumer}s in other
         * processes. In Redis Cluster each event goes to the stream of its key's slot
         * ({@link #eventStreamKey(String, int)}), atomically with the write, and the slot is then
         * appended to the bell stream ({@link #eventBellKey}) that consumers wait on.
         *
         * @param maxLength the stream is trimmed to about this many events ({@code MAXLEN ~}); in a
         *     cluster each slot's stream to its share, {@code maxLength / 16,384} rounded up (Redis's
         *     approximate trimming removes whole nodes of about 100 entries, so a stream keeps up to
         *     about 100 more)
         * @param enabled whether writes append their events to the stream
         * @return this builder
         */
        public Builder eventStream(boolean enabled, long maxLength) {
            if (maxLength < 1) {
                throw new IllegalArgumentException("the event stream's max length must be positive, was " + maxLength);
            }
            this.eventStream = enabled;
            this.eventStreamMaxLength = maxLength;
            return this;
        }

        /**
         * After each write, wait (Redis {@code WAIT}, up to the command timeout) until this many
         * replicas have it, so that a failover cannot lose an acknowledged write; a write that too
         * few replicas confirmed fails with {@link SessionStorageException}. Default 0 (asynchronous
         * replication, as Redis itself). Standalone and Sentinel only.
         *
         * @param value how many replicas must confirm each write (0 to 16)
         * @return this builder
         */
        public Builder waitForReplicas(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("waitForReplicas must not be negative, was " + value);
            }
            waitForReplicas = value;
            return this;
        }

        /**
         * A standalone or Sentinel server ({@code redis://}, {@code rediss://}, {@code redis-sentinel://}).
         *
         * @param value a standalone or Sentinel server ({@code redis://}, {@code rediss://}, {@code redis-sentinel://})
         * @return this builder
         */
        public Builder uri(RedisURI value) {
            uri = Objects.requireNonNull(value, "uri");
            return this;
        }

        /**
         * Seed nodes of a Redis Cluster.
         *
         * @param value seed nodes of a Redis Cluster
         * @return this builder
         */
        public Builder clusterNodes(List<RedisURI> value) {
            if (value.isEmpty()) {
                throw new IllegalArgumentException("clusterNodes must not be empty");
            }
            clusterNodes = List.copyOf(value);
            return this;
        }

        /**
         * A client the caller owns (and shuts down); used with {@link #uri}.
         *
         * @param value a client the caller owns (and shuts down); used with {@link #uri}
         * @return this builder
         */
        public Builder client(RedisClient value) {
            client = Objects.requireNonNull(value, "client");
            return this;
        }

        /**
         * A cluster client the caller owns (and shuts down).
         *
         * @param value a cluster client the caller owns (and shuts down)
         * @return this builder
         */
        public Builder clusterClient(RedisClusterClient value) {
            clusterClient = Objects.requireNonNull(value, "clusterClient");
            return this;
        }

        /**
         * The key prefix of this application's sessions; default {@code session}.
         *
         * @param value the key prefix of this application's sessions; default {@code session}
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
         * How long a command may take before it fails; default 5 s.
         *
         * @param value how long a command may take before it fails; default 5 s
         * @return this builder
         */
        public Builder timeout(Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException("timeout must be positive, was " + value);
            }
            timeout = value;
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
         * The clock that stamps {@code expires_at} and scores index entries.
         *
         * @param value the clock that stamps {@code expires_at} and scores index entries
         * @return this builder
         */
        public Builder clock(Clock value) {
            clock = Objects.requireNonNull(value, "clock");
            return this;
        }

        /**
         * Connects. When the server cannot be reached now (down, a network blip during a cold
         * start), the storage is still returned: it connects in the background, {@code isAvailable()}
         * says {@code false} and calls fail with {@link SessionStorageException} until the server
         * answers, then everything works without reopening.
         *
         * @return the storage
         * @throws SessionStorageException naming the server (never the password) when the
         *     configuration is wrong: authentication or ACL refused, TLS failed
         */
        public RedisSessionStorage build() {
            boolean isCluster = clusterClient != null || clusterNodes != null;
            if (!isCluster && uri == null) {
                throw new IllegalStateException("give the builder a uri or cluster nodes");
            }
            ClientResources resources = null;
            AbstractRedisClient owned = null;
            String where = !isCluster ? describe(List.of(uri))
                    : clusterNodes != null ? "cluster " + describe(clusterNodes) : "cluster (client given by the caller)";
            try {
                if (isCluster) {
                    RedisClusterClient c = clusterClient;
                    if (c == null) {
                        resources = resources();
                        c = RedisClusterClient.create(resources, clusterNodes);
                        owned = c;
                        ClusterClientOptions.Builder options = ClusterClientOptions.builder()
                                .autoReconnect(true)
                                .timeoutOptions(TimeoutOptions.enabled(timeout))
                                .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                                        .enablePeriodicRefresh(Duration.ofSeconds(30)).build());
                        if (trustedCertificates != null) {
                            options.sslOptions(sslOptions());
                        }
                        c.setOptions(options.build());
                    }
                    RedisClusterClient clusterConnector = c;
                    return new RedisSessionStorage(this, owned, resources, () -> {
                        StatefulRedisClusterConnection<String, byte[]> connection = clusterConnector.connect(CODEC);
                        connection.setTimeout(timeout);
                        return connection;
                    }, true, where, c);
                }
                RedisClient c = client;
                if (c == null) {
                    resources = resources();
                    c = RedisClient.create(resources);
                    owned = c;
                    ClientOptions.Builder options = ClientOptions.builder()
                            .autoReconnect(true)
                            .timeoutOptions(TimeoutOptions.enabled(timeout));
                    if (nearCacheSize > 0) {
                        // invalidations are RESP3 push messages on the connection that reads
                        options.protocolVersion(io.lettuce.core.protocol.ProtocolVersion.RESP3);
                    }
                    if (trustedCertificates != null) {
                        options.sslOptions(sslOptions());
                    }
                    c.setOptions(options.build());
                }
                RedisClient standaloneConnector = c;
                return new RedisSessionStorage(this, owned, resources, () -> {
                    StatefulRedisConnection<String, byte[]> connection = standaloneConnector.connect(CODEC, uri);
                    connection.setTimeout(timeout);
                    return connection;
                }, false, where, c);
            } catch (RuntimeException e) {
                if (owned != null) {
                    owned.shutdown(Duration.ZERO, Duration.ofSeconds(2));
                }
                if (resources != null) {
                    var unused = resources.shutdown(0, 2, TimeUnit.SECONDS); // not waited for
                }
                throw new SessionStorageException(RedisStorageProvider.NAME, null, "cannot connect to " + where + ": "
                        + describeFailure(e), e);
            }
        }

        private io.lettuce.core.SslOptions sslOptions() {
            return io.lettuce.core.SslOptions.builder().jdkSslProvider().trustManager(trustedCertificates.toFile())
                    .build();
        }

        private static ClientResources resources() {
            // Reconnect quickly once Redis is back (Lettuce's default backs off to 30 s).
            return ClientResources.builder()
                    .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(2), 2, TimeUnit.MILLISECONDS))
                    .build();
        }

        private static String describe(List<RedisURI> uris) {
            List<String> places = new ArrayList<>();
            for (RedisURI u : uris) {
                if (u.getSentinels() != null && !u.getSentinels().isEmpty()) {
                    places.add("sentinel master " + u.getSentinelMasterId());
                } else {
                    places.add((u.isSsl() ? "rediss://" : "redis://") + u.getHost() + ":" + u.getPort()
                            + (u.getDatabase() != 0 ? "/" + u.getDatabase() : ""));
                }
            }
            return String.join(",", places);
        }

        static String describeFailure(Throwable e) {
            StringBuilder text = new StringBuilder();
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t.getMessage() != null) {
                    if (text.length() > 0) {
                        text.append(": ");
                    }
                    text.append(t.getMessage());
                }
            }
            return text.toString();
        }
    }
}
