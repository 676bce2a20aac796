package io.sessionbuddy.memory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionPage;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.spi.AbstractSessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;

/**
 * An in-process session store on Caffeine: the default backend, for tests, development and
 * single-instance services.
 *
 * <p>Each entry expires at its own {@code expires_at} (Caffeine {@link Expiry}). The store holds at
 * most {@code maximumSize} sessions; past that Caffeine evicts by its W-TinyLFU policy (close to
 * least-recently-used, keeping frequently read sessions). User and project indexes are updated in
 * the same atomic {@code compute} as the entry, and every eviction (by size or by expiry) removes
 * its index entries, so the indexes never hold more than the cache, with or without cleanup.
 * Listings skip expired sessions not yet evicted; {@link #cleanupExpiredSessions()} removes them.
 * {@link SessionState} is deeply immutable, so no mutable state is shared with callers.
 */
public final class MemorySessionStorage extends AbstractSessionStorage {
    /** The default maximum number of sessions. */
    public static final long DEFAULT_MAXIMUM_SIZE = 100_000;

    private final Cache<String, SessionState> cache;
    private final Map<String, NavigableSet<String>> byUser = new ConcurrentHashMap<>();
    private final Map<String, NavigableSet<String>> byProject = new ConcurrentHashMap<>();
    /** Sessions Caffeine removed on expiry since the last cleanup, which counts them. */
    private final java.util.concurrent.atomic.AtomicInteger expiredSinceCleanup =
            new java.util.concurrent.atomic.AtomicInteger();

    private MemorySessionStorage(Builder builder) {
        super(MemoryStorageProvider.NAME, builder.defaultTtl, builder.clock, builder.storedFormat, false, "");
        Clock clock = builder.clock;
        // Milliseconds, not clock.instant(): the system clock's millis() allocates nothing, and this
        // is read on every get. Caffeine may evict up to 1 ms after expires_at, never before (the
        // tick is rounded down); reads check expires_at exactly either way.
        Ticker ticker = () -> clock.millis() * 1_000_000L;
        cache = Caffeine.newBuilder()
                .maximumSize(builder.maximumSize)
                .ticker(ticker)
                // Maintenance (evictions and their index updates) runs on the writing thread, so
                // indexes are consistent when a write returns.
                .executor(Runnable::run)
                .expireAfter(new SessionExpiry())
                // Every eviction (size or expiry) takes its index entries with it, atomically with
                // the entry, so indexes never outgrow the cache whether or not cleanup runs.
                .evictionListener((String id, SessionState state, RemovalCause cause) -> {
                    if (id != null && state != null) {
                        unindex(id, state);
                        if (cause == RemovalCause.EXPIRED) {
                            if (!io.sessionbuddy.core.SessionManager.ROTATED_OWNER.equals(state.userId())) {
                                expiredSinceCleanup.incrementAndGet(); // a rotation's marker is not a session
                            }
                            observers().sessionExpired(MemoryStorageProvider.NAME, id, state.userId(), state.projectId());
                        }
                    }
                })
                .build();
    }

    /**
     * A builder with the defaults: 100000 sessions, 24 h TTL, system clock.
     *
     * @return a builder with the defaults: 100000 sessions, 24 h TTL, system clock
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    protected CompletableFuture<Void> doStore(SessionState state, byte[] record, Duration ttl) {
        cache.asMap().compute(state.sessionId(), (id, old) -> {
            reindex(id, old, state);
            return state;
        });
        return CompletableFuture.completedFuture(null);
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        return CompletableFuture.completedFuture(Optional.ofNullable(cache.getIfPresent(sessionId)));
    }

    /** The entry gets a state with the new expiry (sharing every value): nothing is encoded or copied. */
    @Override
    protected CompletableFuture<Boolean> doTouch(String sessionId, java.time.Instant expiresAt, Duration ttl) {
        boolean[] touched = {false};
        cache.asMap().computeIfPresent(sessionId, (id, old) -> {
            if (isExpired(old) || io.sessionbuddy.core.SessionManager.ROTATED_OWNER.equals(old.userId())) {
                return old; // a rotation's marker is not a session to extend
            }
            touched[0] = true;
            return old.withExpiresAt(expiresAt);
        });
        return CompletableFuture.completedFuture(touched[0]);
    }

    @Override
    protected CompletableFuture<Boolean> doDelete(String sessionId) {
        boolean[] existed = {false};
        cache.asMap().computeIfPresent(sessionId, (id, old) -> {
            unindex(id, old);
            existed[0] = !isExpired(old);
            return null;
        });
        return CompletableFuture.completedFuture(existed[0]);
    }

    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        Set<String> candidates;
        if (userId != null && projectId != null) {
            Set<String> users = idsOf(byUser, userId);
            Set<String> projects = idsOf(byProject, projectId);
            candidates = new HashSet<>(users.size() < projects.size() ? users : projects);
            candidates.retainAll(users.size() < projects.size() ? projects : users);
        } else if (userId != null) {
            candidates = idsOf(byUser, userId);
        } else if (projectId != null) {
            candidates = idsOf(byProject, projectId);
        } else {
            candidates = cache.asMap().keySet();
        }
        List<String> live = liveOf(candidates, userId, projectId);
        live.sort(SessionPage.ORDER);
        return CompletableFuture.completedFuture(live);
    }

    /** The live sessions of the filter among {@code candidates}, in their order. */
    private List<String> liveOf(Collection<String> candidates, String userId, String projectId) {
        List<String> live = new ArrayList<>(candidates.size());
        for (String id : candidates) {
            if (isLive(id, userId, projectId)) {
                live.add(id);
            }
        }
        return live;
    }

    private static Set<String> idsOf(Map<String, NavigableSet<String>> index, String key) {
        Set<String> ids = index.get(key);
        return ids == null ? Set.of() : ids;
    }

    private boolean isLive(String id, String userId, String projectId) {
        SessionState state = cache.getIfPresent(id);
        return state != null && !isExpired(state) && (userId == null || state.userId().equals(userId))
                && (projectId == null || state.projectId().equals(projectId));
    }

    /**
     * A page from the user's (or project's) index, a sorted set: read from the cursor on, never
     * the whole index (with both filters, from the smaller index). Without a filter: the default.
     */
    @Override
    protected CompletableFuture<SessionPage> doListPage(String userId, String projectId, String lastId, int limit) {
        if (userId == null && projectId == null) {
            return super.doListPage(userId, projectId, lastId, limit);
        }
        NavigableSet<String> users = userId == null ? null : byUser.get(userId);
        NavigableSet<String> projects = projectId == null ? null : byProject.get(projectId);
        if ((userId != null && users == null) || (projectId != null && projects == null)) {
            return CompletableFuture.completedFuture(SessionPage.of(List.of(), false)); // a filter without an index
        }
        NavigableSet<String> ids = users == null ? projects
                : projects == null || users.size() <= projects.size() ? users : projects;
        return CompletableFuture.completedFuture(pageFromIndex(lastId, limit, (after, max) -> {
            List<String> batch = new ArrayList<>(Math.min(max, 1024));
            for (String id : after == null ? ids : ids.tailSet(after, false)) {
                if (batch.size() == max) {
                    break;
                }
                batch.add(id);
            }
            return batch;
        }, candidates -> liveOf(candidates, userId, projectId)));
    }

    @Override
    protected CompletableFuture<Integer> doCleanup() {
        int removed = pruneIndex(byUser);
        pruneIndex(byProject);
        cache.cleanUp();
        return CompletableFuture.completedFuture(removed + expiredSinceCleanup.getAndSet(0));
    }

    /**
     * Removes the index entries of sessions that are gone or expired, each atomically with its
     * data (an expired session is removed from the cache in the same step); returns how many.
     */
    private int pruneIndex(Map<String, NavigableSet<String>> index) {
        int removed = 0;
        for (Map.Entry<String, NavigableSet<String>> entry : index.entrySet()) {
            String key = entry.getKey();
            for (String id : List.copyOf(entry.getValue())) {
                boolean[] gone = {false};
                SessionState[] expired = {null};
                cache.asMap().compute(id, (k, state) -> {
                    if (state == null || isExpired(state)) {
                        // counted here only when removed here; Caffeine's own expiry is counted by the listener
                        gone[0] = state != null;
                        expired[0] = state;
                        remove(index, key, k);
                        return null;
                    }
                    return state;
                });
                if (gone[0]) {
                    if (!io.sessionbuddy.core.SessionManager.ROTATED_OWNER.equals(expired[0].userId())) {
                        removed++; // a rotation's marker is not a session: removed, not counted
                    }
                    observers().sessionExpired(MemoryStorageProvider.NAME, id, expired[0].userId(), expired[0].projectId());
                }
            }
        }
        return removed;
    }

    @Override
    protected CompletableFuture<Boolean> doPing() {
        return CompletableFuture.completedFuture(true);
    }

    @Override
    protected CompletableFuture<Boolean> doReplace(SessionState state, byte[] record, long expectedVersion,
            Duration ttl) {
        boolean[] replaced = {false};
        cache.asMap().computeIfPresent(state.sessionId(), (id, old) -> {
            if (isExpired(old) || old.version() != expectedVersion) {
                return old;
            }
            reindex(id, old, state);
            replaced[0] = true;
            return state;
        });
        return CompletableFuture.completedFuture(replaced[0]);
    }

    @Override
    protected void doClose() {
        cache.invalidateAll();
        byUser.clear();
        byProject.clear();
    }

    /**
     * How many sessions are held now, expired ones not yet removed included.
     *
     * @return how many sessions are held now, expired ones not yet removed included
     */
    public long estimatedSize() {
        return cache.estimatedSize();
    }

    /**
     * The cache's estimated number of entries (for a gauge): cheap, no walk.
     *
     * @return the cache's estimated number of entries (for a gauge): cheap, no walk
     */
    @Override
    public java.util.OptionalLong entryCount() {
        return java.util.OptionalLong.of(cache.estimatedSize());
    }

    /** Keys of the user and project indexes: for tests that check the indexes stay bounded. */
    int indexKeyCount() {
        return byUser.size() + byProject.size();
    }

    /**
     * Moves a session's index entries from {@code old}'s owner to {@code state}'s; an entry whose
     * owner is unchanged is left alone (most writes: no index work, no lock on a shared index key).
     */
    private void reindex(String id, SessionState old, SessionState state) {
        move(byUser, old == null ? null : old.userId(), state.userId(), id);
        move(byProject, old == null ? null : old.projectId(), state.projectId(), id);
    }

    /** Moves {@code id} from key {@code from} ({@code null}: none) to key {@code to} of {@code index}. */
    private static void move(Map<String, NavigableSet<String>> index, String from, String to, String id) {
        if (to.equals(from)) {
            return;
        }
        if (from != null) {
            remove(index, from, id);
        }
        add(index, to, id);
    }

    private void unindex(String id, SessionState state) {
        remove(byUser, state.userId(), id);
        remove(byProject, state.projectId(), id);
    }

    private static void add(Map<String, NavigableSet<String>> index, String key, String id) {
        index.compute(key, (k, ids) -> {
            NavigableSet<String> set = ids != null ? ids : new ConcurrentSkipListSet<>(SessionPage.ORDER);
            set.add(id);
            return set;
        });
    }

    private static void remove(Map<String, NavigableSet<String>> index, String key, String id) {
        index.computeIfPresent(key, (k, ids) -> {
            ids.remove(id);
            return ids.isEmpty() ? null : ids;
        });
    }

    /** Each entry's life ends at its {@code expires_at}, counted on the ticker (epoch nanoseconds). */
    private static final class SessionExpiry implements Expiry<String, SessionState> {
        @Override
        public long expireAfterCreate(String key, SessionState value, long currentTime) {
            return remainingNanos(value, currentTime);
        }

        @Override
        public long expireAfterUpdate(String key, SessionState value, long currentTime, long currentDuration) {
            return remainingNanos(value, currentTime);
        }

        @Override
        public long expireAfterRead(String key, SessionState value, long currentTime, long currentDuration) {
            return currentDuration;
        }

        /** From the tick (rounded down) to expires_at: the entry never leaves before it. */
        private static long remainingNanos(SessionState state, long currentTime) {
            if (state.expiresAt() == null) {
                return Long.MAX_VALUE;
            }
            long at;
            java.time.Instant expires = state.expiresAt();
            try {
                at = Math.addExact(Math.multiplyExact(expires.getEpochSecond(), 1_000_000_000L), expires.getNano());
            } catch (ArithmeticException beyond2262) {
                return Long.MAX_VALUE;
            }
            return Math.max(0, at - currentTime);
        }
    }

    /** Builds a {@link MemorySessionStorage}. */
    public static final class Builder {
        private long maximumSize = DEFAULT_MAXIMUM_SIZE;
        private Duration defaultTtl = SessionBuddyConfig.DEFAULT_TTL;
        private Clock clock = Clock.systemUTC();
        private StoredFormat storedFormat = StoredFormat.defaults();

        private Builder() {
        }

        /**
         * The most sessions held; past it the least valuable are evicted.
         *
         * @param value the most sessions held; past it the least valuable are evicted
         * @return this builder
         */
        public Builder maximumSize(long value) {
            if (value < 1) {
                throw new IllegalArgumentException("maximumSize must be at least 1, was " + value);
            }
            maximumSize = value;
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
         * The clock expiry is computed with (tests pass a movable one).
         *
         * @param value the clock expiry is computed with (tests pass a movable one)
         * @return this builder
         */
        public Builder clock(Clock value) {
            clock = Objects.requireNonNull(value, "clock");
            return this;
        }

        /**
         * Builds the store.
         *
         * @return the MemorySessionStorage
         */
        public MemorySessionStorage build() {
            return new MemorySessionStorage(this);
        }
    }
}
