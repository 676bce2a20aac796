package io.sessionbuddy.spi;

import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionOutcomeUnknownException;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.SessionObserver;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.SessionTooLargeException;
import io.sessionbuddy.core.format.StoredFormat;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The rules every {@link SessionStorage} shares, in one place: argument checks before the store is
 * touched, the default and maximum TTL, {@code expires_at} stamping, filtering of expired records,
 * failing after {@link #close()}, and wrapping of unexpected failures in
 * {@link SessionStorageException}. A backend implements the {@code do...} methods.
 *
 * <p>The stored format is applied here too, once for every backend: each write is encoded with
 * the configured {@link SessionRecordCodec} (size limit, compression, encryption) before
 * {@link #doStore} or {@link #doReplace} sees it, so a write over {@code max_session_bytes} fails
 * with {@link SessionTooLargeException} before the store is touched. A backend that stores bytes
 * writes the record it is given and reads with {@link #decode}; a backend that keeps objects
 * (memory) passes {@code false} for {@code storesBytes} and gets only the size check.
 */
public abstract class AbstractSessionStorage implements SessionStorage {
    private static final java.util.Set<String> WRITES = java.util.Set.of("store", "replace", "delete", "touch", "move");

    /** The longest time to live accepted. */
    public static final Duration MAX_TTL = Duration.ofDays(3650);

    private final String backendName;
    private final Duration defaultTtl;
    private final Clock clock;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final SessionRecordCodec codec;
    private final boolean storesBytes;
    private final String scope;

    /**
     * A storage with the {@linkplain StoredFormat#defaults() default stored format} that stores
     * bytes in scope {@code ""}.
     *
     * @param backendName the provider name, used in every error
     * @param defaultTtl the time to live of a write without one
     * @param clock the clock used for {@code expires_at} and expiry checks
     */
    protected AbstractSessionStorage(String backendName, Duration defaultTtl, Clock clock) {
        this(backendName, defaultTtl, clock, StoredFormat.defaults(), true, "");
    }

    /**
     * @param backendName the provider name, used in every error
     * @param defaultTtl the time to live of a write without one
     * @param clock the clock used for {@code expires_at} and expiry checks
     * @param format the stored format: size limit, compression, encryption keys
     * @param storesBytes {@code true} when the backend writes the encoded record; {@code false}
     *     when it keeps objects and only the size limit applies
     * @param scope the namespace records are bound to when encrypted (a record copied to another
     *     scope does not decrypt); stable for the life of the data
     */
    protected AbstractSessionStorage(String backendName, Duration defaultTtl, Clock clock, StoredFormat format,
            boolean storesBytes, String scope) {
        this.backendName = Objects.requireNonNull(backendName, "backendName");
        this.defaultTtl = checkTtl(Objects.requireNonNull(defaultTtl, "defaultTtl"));
        this.clock = Objects.requireNonNull(clock, "clock");
        this.codec = new SessionRecordCodec(Objects.requireNonNull(format, "format"));
        this.storesBytes = storesBytes;
        this.scope = Objects.requireNonNull(scope, "scope");
    }

    /**
     * The stored format of this storage.
     *
     * @return compression, encryption keys and size limits
     */
    public final StoredFormat storedFormat() {
        return codec.format();
    }

    /**
     * Data of another known layout where this storage reads (for example the original Python store's
     * keys on the same Redis, or its files in the same directory), each as one sentence that names the
     * layout, an example key or path, and the provider that reads it. {@code session-buddy migrate}
     * asks when a source lists no session, so that pointing it at the original's config file never
     * ends in a silent empty migration. Empty by default; a backend that knows such layouts overrides
     * it. Looking may be slow (a {@code SCAN}, a directory listing): it is not for request paths.
     *
     * @return a future of the findings, empty when none; it fails when the store cannot be reached
     */
    public CompletableFuture<List<String>> otherLayouts() {
        return CompletableFuture.completedFuture(List.of());
    }

    /**
     * The provider name.
     *
     * @return the provider name
     */
    @Override
    public final String backendName() {
        return backendName;
    }

    /**
     * The clock that stamps expiry.
     *
     * @return the clock
     */
    protected final Clock clock() {
        return clock;
    }

    /** The observers of this storage; see {@link SessionObserver}. */
    private final io.sessionbuddy.core.ObserverList observers = new io.sessionbuddy.core.ObserverList();

    @Override
    public final boolean addObserver(SessionObserver observer) {
        observers.add(observer);
        return true;
    }

    @Override
    public final boolean removeObserver(SessionObserver observer) {
        return observers.remove(observer);
    }

    /**
     * The number of sessions this storage holds, when it can say so cheaply (an in-process cache);
     * empty otherwise (a remote store would need a scan). For a gauge.
     *
     * @return the count, or empty
     */
    public java.util.OptionalLong entryCount() {
        return java.util.OptionalLong.empty();
    }

    /**
     * What this storage's near cache holds and did; empty (the default) for storages without one.
     * For a caller's diagnostics and the metrics module's gauges.
     *
     * @return the near cache's counters, or empty
     */
    public java.util.Optional<NearCacheStats> nearCacheStats() {
        return java.util.Optional.empty();
    }

    /**
     * What a backend tells the observers directly: expired sessions it removed, index repairs.
     *
     * @return the observers of this storage, as one
     */
    protected final SessionObserver observers() {
        return observers;
    }

    /**
     * Whether anything observes this storage (so that work done only for observers can be skipped).
     *
     * @return {@code true} when an observer was added
     */
    protected final boolean isObserved() {
        return !observers.isEmpty();
    }

    /**
     * Runs {@code call} timed for the observers, when there are any: the timing starts before the call
     * (an in-process backend finishes inside it).
     */
    private <T> CompletableFuture<T> observed(SessionObserver.Operation operation, Supplier<CompletableFuture<T>> call) {
        if (observers.isEmpty()) {
            return call.get();
        }
        SessionObserver.Timing timing = observers.start(backendName, operation);
        return timed(timing, operation, call.get());
    }

    private static <T> CompletableFuture<T> timed(SessionObserver.Timing timing, SessionObserver.Operation operation,
            CompletableFuture<T> call) {
        if (call.isDone()) {
            try {
                T value = call.join();
                timing.stop(SessionObserver.Outcome.of(operation, value, null), null);
            } catch (CompletionException | java.util.concurrent.CancellationException e) {
                timing.stop(SessionObserver.Outcome.of(operation, null, e), e);
            }
            return call;
        }
        // the caller's future completes after the timing stopped: what a caller sees, observers saw
        return call.whenComplete((value, error) -> timing.stop(SessionObserver.Outcome.of(operation, value, error),
                error));
    }

    @Override
    public final CompletableFuture<Boolean> storeSession(SessionState state, Duration ttl) {
        return store(state, ttl, false);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: as {@link #storeSession}, through {@link #doStoreNew}.
     */
    @Override
    public final CompletableFuture<Boolean> storeNewSession(SessionState state, Duration ttl) {
        return store(state, ttl, true);
    }

    private CompletableFuture<Boolean> store(SessionState state, Duration ttl, boolean fresh) {
        Objects.requireNonNull(state, "state");
        Duration effective = effectiveTtl(ttl);
        SessionState stamped = state.withExpiresAt(clock.instant().plus(effective));
        return observed(SessionObserver.Operation.STORE, () -> guarded(state.sessionId(), "store",
                () -> (fresh ? doStoreNew(stamped, encode(stamped), effective) : doStore(stamped, encode(stamped),
                        effective)).thenApply(v -> true)));
    }

    /**
     * Stores a session under a freshly generated id ({@link #storeNewSession}): the default is
     * {@link #doStore}; a backend that looks for the previous record before a store may skip that
     * here (the result must still replace a record stored under the id).
     *
     * @param state the session, already stamped with its expiry
     * @param record its encoded record
     * @param ttl its time to live
     * @return a future completed once stored
     */
    protected CompletableFuture<Void> doStoreNew(SessionState state, byte[] record, Duration ttl) {
        return doStore(state, record, ttl);
    }

    @Override
    public final CompletableFuture<Optional<SessionState>> retrieveSession(String sessionId) {
        SessionIds.requireValid(sessionId);
        if (!observers.isEmpty()) {
            return observed(SessionObserver.Operation.RETRIEVE, () -> retrieveLive(sessionId));
        }
        return retrieveLive(sessionId); // no lambda capturing the id on the read of every request
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: {@link SessionStorage#retrieveEach} with {@link #bulkReadInFlight()} reads in flight,
     * each observed as a retrieve.
     */
    @Override
    public final CompletableFuture<java.util.Map<String, SessionState>> retrieveSessions(java.util.Collection<String> ids) {
        return SessionStorage.retrieveEach(this, ids, bulkReadInFlight());
    }

    /**
     * How many reads {@link #retrieveSessions} keeps in flight: 16 by default; a backend whose
     * client pipelines cheaply on one connection (Redis) allows more.
     *
     * @return the bound, at least 1
     */
    protected int bulkReadInFlight() {
        return 16;
    }

    private CompletableFuture<Optional<SessionState>> retrieveLive(String sessionId) {
        CompletableFuture<Optional<SessionState>> found = guarded(sessionId, "retrieve", RETRIEVE);
        if (found.isDone() && !found.isCompletedExceptionally()) {
            // the in-process backends: no second future unless the session has expired
            Optional<SessionState> state = found.join();
            return state.isEmpty() || !isExpired(state.get()) ? found
                    : CompletableFuture.completedFuture(Optional.empty());
        }
        return found.thenApply(state -> state.filter(s -> !isExpired(s)));
    }

    @Override
    public final CompletableFuture<Boolean> moveSession(SessionState copy, Duration ttl, SessionState marker,
            long expectedVersion, Duration markerTtl) {
        Objects.requireNonNull(copy, "copy");
        Objects.requireNonNull(marker, "marker");
        Duration copyTtl = effectiveTtl(ttl);
        Duration stubTtl = effectiveTtl(markerTtl);
        SessionState stampedCopy = copy.withExpiresAt(clock.instant().plus(copyTtl));
        SessionState stampedMarker = marker.withExpiresAt(clock.instant().plus(stubTtl));
        return guarded(marker.sessionId(), "move", () -> doMove(stampedCopy, encode(stampedCopy), copyTtl, stampedMarker,
                encode(stampedMarker), expectedVersion, stubTtl));
    }

    /**
     * What {@link #moveSession} runs once its states are stamped and encoded. The default stores
     * the copy, replaces the old record by the marker with compare-and-set, and deletes the copy
     * when that fails; a backend that can do both in one atomic step overrides it.
     *
     * @param copy the session under its new id, stamped
     * @param copyRecord its encoded record
     * @param ttl its time to live
     * @param marker what takes the old record's place, stamped
     * @param markerRecord its encoded record
     * @param expectedVersion the version the old record must have
     * @param markerTtl the marker's time to live
     * @return a future of {@code true} when moved, {@code false} when the old record is absent or of
     *     another version
     */
    protected CompletableFuture<Boolean> doMove(SessionState copy, byte[] copyRecord, Duration ttl, SessionState marker,
            byte[] markerRecord, long expectedVersion, Duration markerTtl) {
        return doStore(copy, copyRecord, ttl)
                .thenCompose(stored -> doReplace(marker, markerRecord, expectedVersion, markerTtl))
                .thenCompose(moved -> moved ? CompletableFuture.completedFuture(true)
                        : doDelete(copy.sessionId()).thenApply(dropped -> false));
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: checks the arguments as {@link #touchSession} does, works out the new expiry, and runs
     * {@link #doTouchAndRetrieve} guarded like every call and observed as the touch and the read it
     * stands for (each observer sees a {@code TOUCH} and a {@code RETRIEVE}). A session read already
     * expired is returned as absent.
     */
    @Override
    public final CompletableFuture<Optional<SessionState>> retrieveSession(String sessionId, Duration ttl) {
        Objects.requireNonNull(ttl, "ttl");
        SessionIds.requireValid(sessionId);
        Duration effective = effectiveTtl(ttl);
        Instant expiresAt = clock.instant().plus(effective);
        SessionObserver.Timing touch = observers.isEmpty() ? SessionObserver.Timing.NONE
                : observers.start(backendName, SessionObserver.Operation.TOUCH);
        SessionObserver.Timing read = observers.isEmpty() ? SessionObserver.Timing.NONE
                : observers.start(backendName, SessionObserver.Operation.RETRIEVE);
        CompletableFuture<Optional<SessionState>> found = guarded(sessionId, "touch",
                () -> doTouchAndRetrieve(sessionId, expiresAt, effective))
                .thenApply(state -> state.filter(s -> !isExpired(s)));
        if (observers.isEmpty()) {
            return found;
        }
        // an empty result is NOT_FOUND for both, as for a touch that returned false
        return timed(read, SessionObserver.Operation.RETRIEVE, timed(touch, SessionObserver.Operation.TOUCH, found));
    }

    /**
     * Moves a live session's expiry to {@code expiresAt} and reads it (sliding expiration: the read
     * of every request with {@code refresh_ttl_on_read}); what {@link #retrieveSession(String, Duration)}
     * runs after checking its arguments. The default is {@link #doTouch}, then {@link #doRetrieve}
     * when it touched. A backend that can do both in one step overrides it (standalone Redis: one
     * script); one whose touch rewrites the record returns {@link #rewriteExpiry}'s result, the
     * state it wrote, without reading it again (S3).
     *
     * @param sessionId the session's id, already checked
     * @param expiresAt the new expiry
     * @param ttl the new time to live, positive
     * @return a future of the session with its new expiry, or empty when nothing was touched
     *     (absent, expired, or a rotation's marker)
     */
    protected CompletableFuture<Optional<SessionState>> doTouchAndRetrieve(String sessionId, Instant expiresAt,
            Duration ttl) {
        return doTouch(sessionId, expiresAt, ttl).thenCompose(touched -> touched ? doRetrieve(sessionId)
                : CompletableFuture.completedFuture(Optional.empty()));
    }

    @Override
    public final CompletableFuture<Boolean> touchSession(String sessionId, Duration ttl) {
        SessionIds.requireValid(sessionId);
        Duration effective = effectiveTtl(ttl);
        Instant expiresAt = clock.instant().plus(effective);
        return observed(SessionObserver.Operation.TOUCH, () -> guarded(sessionId, "touch",
                () -> doTouch(sessionId, expiresAt, effective)));
    }

    /**
     * Moves a live session's expiry to {@code expiresAt} (now + {@code ttl}) and nothing else:
     * what {@link #touchSession} runs after checking its arguments. The default reads the session
     * and stores it again with compare-and-set on its unchanged version (up to three attempts);
     * a backend that keeps the expiry outside the record overrides it to skip the decoding and
     * the rewrite. Whatever the way, later reads must see {@code expiresAt}.
     *
     * @param sessionId the session's id, already checked
     * @param expiresAt the new expiry
     * @param ttl the new time to live, positive
     * @return a future of {@code true} when moved, {@code false} when absent or expired
     */
    protected CompletableFuture<Boolean> doTouch(String sessionId, Instant expiresAt, Duration ttl) {
        return rewriteExpiry(sessionId, expiresAt, ttl).thenApply(Optional::isPresent);
    }

    /**
     * The default touch: reads the session and stores it again with {@code expiresAt}, with
     * compare-and-set on its unchanged version (up to three attempts).
     *
     * @param sessionId the session's id, already checked
     * @param expiresAt the new expiry
     * @param ttl the new time to live, positive
     * @return a future of the state written, or empty when the session is absent, expired or a
     *     rotation's marker, or when three compare-and-sets lost to other writes
     */
    protected final CompletableFuture<Optional<SessionState>> rewriteExpiry(String sessionId, Instant expiresAt,
            Duration ttl) {
        return rewriteExpiry(sessionId, expiresAt, ttl, 1);
    }

    private CompletableFuture<Optional<SessionState>> rewriteExpiry(String sessionId, Instant expiresAt, Duration ttl,
            int attempt) {
        return doRetrieve(sessionId).thenCompose(found -> {
            if (found.isEmpty() || isExpired(found.get())
                    || io.sessionbuddy.core.SessionManager.ROTATED_OWNER.equals(found.get().userId())) {
                // a rotation's marker is not a session to extend
                return CompletableFuture.completedFuture(Optional.<SessionState>empty());
            }
            SessionState moved = found.get().withExpiresAt(expiresAt);
            return doReplace(moved, encode(moved), moved.version(), ttl).thenCompose(done -> done
                    ? CompletableFuture.completedFuture(Optional.of(moved))
                    : attempt >= 3 ? CompletableFuture.completedFuture(Optional.<SessionState>empty())
                    : rewriteExpiry(sessionId, expiresAt, ttl, attempt + 1));
        });
    }

    @Override
    public final CompletableFuture<Boolean> deleteSession(String sessionId) {
        SessionIds.requireValid(sessionId);
        return observed(SessionObserver.Operation.DELETE, () -> guarded(sessionId, "delete", () -> doDelete(sessionId)));
    }

    @Override
    public final CompletableFuture<List<String>> listSessions(String userId, String projectId) {
        checkFilters(userId, projectId);
        return observed(SessionObserver.Operation.LIST, () -> guarded(null, "list", () -> doList(userId, projectId)));
    }

    @Override
    public final CompletableFuture<io.sessionbuddy.core.SessionPage> listSessions(String userId, String projectId,
            String cursor, int limit) {
        checkFilters(userId, projectId);
        io.sessionbuddy.core.SessionPage.requireLimit(limit);
        String lastId = io.sessionbuddy.core.SessionPage.lastIdOf(cursor);
        return observed(SessionObserver.Operation.LIST, () -> guarded(null, "list",
                () -> doListPage(userId, projectId, lastId, limit)));
    }

    /**
     * One page of {@link #doList}: the live sessions after {@code lastId}, ascending, at most
     * {@code limit}. The default cuts it from the full listing; a backend whose listing checks
     * each candidate (Redis) checks only as many as the page needs.
     *
     * @param userId the user, or {@code null}
     * @param projectId the project, or {@code null}
     * @param lastId the last id of the previous page, or {@code null} for the first
     * @param limit the most ids, from 1 to 10,000
     * @return a future of the page
     */
    protected CompletableFuture<io.sessionbuddy.core.SessionPage> doListPage(String userId, String projectId,
            String lastId, int limit) {
        return doList(userId, projectId).thenApply(ids -> io.sessionbuddy.core.SessionPage.firstOf(ids, lastId, limit));
    }

    /**
     * Where a page's candidates come from: a backend's own index, read in id order from a point.
     *
     * @param <E> the checked exception reading it may throw
     */
    @FunctionalInterface
    protected interface PageCandidates<E extends Exception> {
        /**
         * The index's ids after {@code lastId}, ascending ({@link io.sessionbuddy.core.SessionPage#ORDER}),
         * at most {@code max}: fewer only when no other id follows.
         *
         * @param lastId the id to start after, or {@code null} for the first
         * @param max the most ids to return, at least 1
         * @return the ids, ascending
         * @throws E when the index cannot be read
         */
        List<String> after(String lastId, int max) throws E;

        /**
         * Candidates served from a list already read and sorted (a directory's entries, say).
         *
         * @param <E> the checked exception of the page's check
         * @param ascending the ids, ascending ({@link io.sessionbuddy.core.SessionPage#ORDER})
         * @return candidates from that list
         */
        static <E extends Exception> PageCandidates<E> fromSorted(List<String> ascending) {
            return (lastId, max) -> {
                int from = 0;
                if (lastId != null) {
                    int found = java.util.Collections.binarySearch(ascending, lastId,
                            io.sessionbuddy.core.SessionPage.ORDER);
                    from = found >= 0 ? found + 1 : -found - 1;
                }
                return ascending.subList(from, Math.min(ascending.size(), from + max));
            };
        }
    }

    /**
     * Which of a page's candidates are live sessions of the listing's filter.
     *
     * @param <E> the checked exception checking may throw
     */
    @FunctionalInterface
    protected interface PageCheck<E extends Exception> {
        /**
         * The live ones of {@code candidates}, in their order.
         *
         * @param candidates ids from {@link PageCandidates#after}, ascending
         * @return the live ones, ascending
         * @throws E when they cannot be checked
         */
        List<String> live(List<String> candidates) throws E;
    }

    /**
     * A page read from an index in id order, for a {@link #doListPage} that does not read the whole
     * index: takes one more candidate than the page still needs, checks them, and goes on after the
     * last one until the page is full (then a cursor follows) or the index has none left. Reads what
     * it lists and the dead entries between, whatever the index's size.
     *
     * @param <E> the checked exception of the index
     * @param lastId the last id of the previous page, or {@code null} for the first
     * @param limit the most ids on the page
     * @param candidates the index, in id order
     * @param check which candidates are live
     * @return the page
     * @throws E when the index cannot be read
     */
    protected static <E extends Exception> io.sessionbuddy.core.SessionPage pageFromIndex(String lastId, int limit,
            PageCandidates<E> candidates, PageCheck<E> check) throws E {
        List<String> live = new java.util.ArrayList<>();
        String after = lastId;
        while (true) {
            int want = limit + 1 - live.size(); // one more than the page: whether another page follows
            List<String> batch = candidates.after(after, want);
            if (!batch.isEmpty()) {
                live.addAll(check.live(batch));
            }
            if (live.size() > limit) {
                return io.sessionbuddy.core.SessionPage.of(live.subList(0, limit), true);
            }
            if (batch.size() < want) {
                return io.sessionbuddy.core.SessionPage.of(live, false);
            }
            after = batch.get(batch.size() - 1);
        }
    }

    private static void checkFilters(String userId, String projectId) {
        if ((userId != null && userId.isEmpty()) || (projectId != null && projectId.isEmpty())) {
            throw new IllegalArgumentException("user and project filters must be null or non-empty");
        }
    }

    @Override
    public final CompletableFuture<List<String>> listStoredSessionIds() {
        return observed(SessionObserver.Operation.LIST, () -> guarded(null, "list stored ids", this::doListStoredIds));
    }

    @Override
    public final CompletableFuture<Integer> cleanupExpiredSessions() {
        CompletableFuture<Integer> removed = observed(SessionObserver.Operation.CLEANUP,
                () -> guarded(null, "clean up", this::doCleanup));
        if (observers.isEmpty()) {
            return removed;
        }
        return removed.whenComplete((count, error) -> {
            if (error == null) {
                observers.cleanedUp(backendName, count);
            }
        });
    }

    @Override
    public final CompletableFuture<Boolean> isAvailable() {
        if (closed.get()) {
            return CompletableFuture.completedFuture(false);
        }
        try {
            return doPing().exceptionally(failure -> false);
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(false);
        }
    }

    @Override
    public final CompletableFuture<Boolean> replaceSession(SessionState state, long expectedVersion, Duration ttl) {
        Objects.requireNonNull(state, "state");
        Duration effective = effectiveTtl(ttl);
        SessionState stamped = state.withExpiresAt(clock.instant().plus(effective));
        return observed(SessionObserver.Operation.REPLACE, () -> guarded(state.sessionId(), "replace",
                () -> doReplace(stamped, encode(stamped), expectedVersion, effective)));
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            doClose();
        }
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return {@code true} once closed
     */
    protected final boolean isClosed() {
        return closed.get();
    }

    /**
     * Whether {@code state} has expired now. Decided on the clock's milliseconds when they differ
     * from the expiry's (no {@code Instant} made: this runs on every read), exactly otherwise.
     *
     * @param state the session
     * @return {@code true} when its {@code expires_at} is at or before now
     */
    protected final boolean isExpired(SessionState state) {
        Instant at = state.expiresAt();
        if (at == null) {
            return false;
        }
        try {
            long atMillis = at.toEpochMilli(); // rounded down, as clock.millis() is
            long nowMillis = clock.millis();
            if (atMillis != nowMillis) {
                return atMillis < nowMillis;
            }
        } catch (ArithmeticException beyondMillis) {
            // an expiry too far out for epoch milliseconds: decided exactly below
        }
        return state.isExpiredAt(clock.instant());
    }

    /**
     * An exception of this backend about one session (or none).
     *
     * @param sessionId the session, or {@code null}
     * @param message what went wrong
     * @param cause the cause, or {@code null}
     * @return the exception, to throw or to complete a future with
     */
    protected final SessionStorageException failure(String sessionId, String message, Throwable cause) {
        return new SessionStorageException(backendName, sessionId, message, cause);
    }

    /**
     * Decodes a record this storage wrote (or an earlier form of one).
     *
     * @param sessionId the id it was stored under
     * @param record the stored bytes
     * @param location where it was read from (a path, a key, an object URL), for the message
     * @return the session
     * @throws CorruptSessionException naming this backend, the session and the location
     */
    protected final SessionState decode(String sessionId, byte[] record, String location) {
        try {
            return codec.decode(record, scope, sessionId, naiveTimestampZone(), readsOriginalNumbers());
        } catch (CorruptSessionException e) {
            observers.damagedRecord(backendName, e.reason());
            throw new CorruptSessionException(backendName, sessionId, "cannot decode " + location + " ("
                    + record.length + " bytes): " + e.getMessage().substring(prefixLength(e)), e.reason(), e);
        }
    }

    /**
     * The zone of timestamps a record holds without one: UTC, except in the readers of the original
     * store ({@code source_timezone}), whose records up to v0.20.0 hold the writing host's local time.
     *
     * @return the zone
     */
    protected java.time.ZoneId naiveTimestampZone() {
        return java.time.ZoneOffset.UTC;
    }

    /**
     * Whether records may hold the {@code NaN} and {@code Infinity} of the original store's
     * {@code json.dumps} (read as {@code null}): only in its readers; {@code false} here.
     *
     * @return whether they are read
     */
    protected boolean readsOriginalNumbers() {
        return false;
    }

    /**
     * Whether this backend reads record summaries ({@link #summary}) instead of decoding, so that
     * its records carry one (envelope version 2, unless {@code stored_format_version} is 1).
     * {@code false} unless overridden: a backend that keeps version and owners beside the record
     * (Redis hash fields, S3 object metadata) has no use for it.
     *
     * @return whether this backend writes and reads summaries
     */
    protected boolean readsSummaries() {
        return false;
    }

    /**
     * A record's version, expiry and owners without decoding it, when the record carries a summary
     * (see {@link SessionRecordCodec#summary}); empty for a record without one, which the caller
     * then {@linkplain #decode decodes}.
     *
     * @param sessionId the id it was stored under
     * @param record the stored bytes
     * @param location where it was read from, for the message
     * @return the summary, or empty
     * @throws CorruptSessionException naming this backend, the session and the location
     */
    protected final Optional<SessionRecordCodec.Summary> summary(String sessionId, byte[] record, String location) {
        try {
            return codec.summary(record, scope, sessionId);
        } catch (CorruptSessionException e) {
            throw new CorruptSessionException(backendName, sessionId, "cannot read " + location + " ("
                    + record.length + " bytes): " + e.getMessage().substring(prefixLength(e)), e.reason(), e);
        }
    }

    /**
     * Whether a record with this summary has expired, by this storage's clock.
     *
     * @param summary the record's summary
     * @return {@code true} when its expiry is at or before now
     */
    protected final boolean isExpired(SessionRecordCodec.Summary summary) {
        return summary.isExpiredAt(clock.instant());
    }

    /**
     * The most bytes a stored record may have: {@code max_decoded_bytes} plus room for the envelope.
     * A backend checks a record's size against it before reading the record whole, so that a huge
     * or hostile value never gets allocated.
     *
     * @return the bound in bytes
     */
    protected final int maxRecordBytes() {
        return (int) Math.min(Integer.MAX_VALUE - 16L, (long) codec.format().maxDecodedBytes() + 1024);
    }

    /**
     * The failure for a record of {@code size} bytes over {@link #maxRecordBytes()}, read or not.
     *
     * @param sessionId the session
     * @param size the record's size in bytes
     * @param location where it is, for the message
     * @return the exception (reason {@code TOO_LARGE})
     */
    protected final CorruptSessionException recordTooLarge(String sessionId, long size, String location) {
        return new CorruptSessionException(backendName, sessionId, location + " is " + size
                + " bytes, more than any record this store writes (max_decoded_bytes " + codec.format().maxDecodedBytes()
                + " plus the envelope): not read", CorruptSessionException.Reason.TOO_LARGE, null);
    }

    private static int prefixLength(CorruptSessionException e) {
        return e.sessionId() == null ? 0 : ("session " + e.sessionId() + ": ").length();
    }

    private byte[] encode(SessionState state) {
        try {
            if (storesBytes) {
                byte[] record = codec.encode(state, scope, readsSummaries());
                if (!observers.isEmpty()) {
                    observers.recordEncoded(backendName, SessionRecordCodec.jsonLength(record), record.length);
                }
                return record;
            }
            codec.checkLimit(state);
            return null;
        } catch (SessionTooLargeException e) {
            throw new SessionTooLargeException(backendName, state.sessionId(), e.size(), e.limit());
        }
    }

    /**
     * Stores {@code state}, whose {@code expires_at} is already now + {@code ttl}. Called with
     * arguments already checked, never after {@link #close()}.
     *
     * @param state the session, stamped
     * @param record the encoded record to write, or {@code null} when this storage keeps objects
     * @param ttl the time to live the store should give the record (its own expiry, where it has one)
     * @return a future that completes when the write is acknowledged (durable as the store makes it);
     *     fail it with {@link io.sessionbuddy.core.SessionStorageException} (or
     *     {@link SessionOutcomeUnknownException} when the write may have landed); other exceptions are
     *     wrapped in one
     */
    protected abstract CompletableFuture<Void> doStore(SessionState state, byte[] record, Duration ttl);

    /**
     * Reads the stored record, expired or not (the caller filters expired ones).
     *
     * @param sessionId a valid id
     * @return a future of the session, empty when there is none; fail it with
     *     {@link CorruptSessionException} (from {@link #decode}) for a record that cannot be read
     */
    protected abstract CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId);

    /**
     * Deletes a session's record and its index entries.
     *
     * @param sessionId a valid id
     * @return a future of {@code false} when there was none
     */
    protected abstract CompletableFuture<Boolean> doDelete(String sessionId);

    /**
     * Lists live sessions matching the filters, from an index where the store has one.
     *
     * @param userId the user, or {@code null} for any
     * @param projectId the project, or {@code null} for any
     * @return a future of their ids
     */
    protected abstract CompletableFuture<List<String>> doList(String userId, String projectId);

    /**
     * The id of every stored record, live or expired, readable or not. The default lists live
     * sessions only ({@code doList(null, null)}); backends that can list their records override it.
     *
     * @return a future of the ids, sorted
     */
    protected CompletableFuture<List<String>> doListStoredIds() {
        return doList(null, null).thenApply(ids -> ids.stream().sorted().toList());
    }

    /**
     * Removes expired sessions and stale index entries, telling {@link #observers()} of each expired
     * session removed ({@code sessionExpired}) and of index repairs.
     *
     * @return a future of the number of sessions removed
     */
    protected abstract CompletableFuture<Integer> doCleanup();

    /**
     * A real round trip to the store.
     *
     * @return a future of {@code true} when the store answered as expected
     */
    protected abstract CompletableFuture<Boolean> doPing();

    /**
     * Compare-and-set on the stored version; {@code state}'s expiry is already stamped.
     *
     * @param state the new session, stamped
     * @param record the encoded record to write, or {@code null} when this storage keeps objects
     * @param expectedVersion the version the stored record must have (live, not expired)
     * @param ttl the time to live the store should give the record
     * @return a future of {@code true} when written, {@code false} when the stored version differs or
     *     there is no live record; atomic against every other write of the same session
     */
    protected abstract CompletableFuture<Boolean> doReplace(SessionState state, byte[] record, long expectedVersion,
            Duration ttl);

    /** Releases resources; called once. */
    protected abstract void doClose();

    /** {@code ttl}, checked, or the default TTL for {@code null}. */
    private Duration effectiveTtl(Duration ttl) {
        return ttl == null ? defaultTtl : checkTtl(ttl);
    }

    private static Duration checkTtl(Duration ttl) {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive, was " + ttl);
        }
        if (ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("ttl must be at most " + MAX_TTL.toDays() + " days, was " + ttl);
        }
        return ttl;
    }

    private <T> CompletableFuture<T> guarded(String sessionId, String operation, Supplier<CompletableFuture<T>> body) {
        return guarded(sessionId, operation, (storage, id) -> body.get());
    }

    /** The read of every request: a constant, so that a call allocates no lambda capturing the id. */
    private static final java.util.function.BiFunction<AbstractSessionStorage, String,
            CompletableFuture<Optional<SessionState>>> RETRIEVE = AbstractSessionStorage::doRetrieve;

    private <T> CompletableFuture<T> guarded(String sessionId, String operation,
            java.util.function.BiFunction<AbstractSessionStorage, String, CompletableFuture<T>> body) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(failure(sessionId, "cannot " + operation
                    + ": the storage is closed", null));
        }
        CompletableFuture<T> started;
        try {
            started = body.apply(this, sessionId);
        } catch (RuntimeException e) {
            started = CompletableFuture.failedFuture(e);
        }
        if (started.isDone() && !started.isCompletedExceptionally()) {
            return started; // the in-process backends finish at once: no second future needed
        }
        CompletableFuture<T> result = started.newIncompleteFuture(); // keeps a CallerRunsFuture's kind
        var unused = started.whenComplete((value, error) -> {
            if (error == null) {
                result.complete(value);
            } else {
                result.completeExceptionally(wrap(sessionId, operation, error));
            }
        });
        return result;
    }

    private Throwable wrap(String sessionId, String operation, Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof SessionStorageException) {
            return cause;
        }
        if (WRITES.contains(operation)) {
            // A transport failure (a timeout, a reset connection) after the write may have been sent:
            // it may have landed. Say so, so that nobody applies the change twice unknowingly.
            return new SessionOutcomeUnknownException(backendName, sessionId, "could not " + operation
                    + ", and the write may or may not have reached the store: " + cause, cause);
        }
        // The caller's arguments were checked before the backend ran: an IllegalArgumentException or
        // NullPointerException from inside it is the backend's failure, not the caller's mistake.
        return failure(sessionId, "could not " + operation + ": " + cause, cause);
    }

    /**
     * Where a backend whose client completes futures on its I/O threads (Lettuce's event loop)
     * decodes what it read: a pool shared by every storage, as many threads as cores (system
     * property {@code sessionbuddy.codec.threads} to change), daemon threads that end when idle.
     * Decoding there keeps the I/O thread free for the next replies, so throughput with many
     * operations in flight grows with cores, and the caller's continuations (an update function)
     * never run on the I/O thread either.
     *
     * @return the shared codec pool
     */
    protected static java.util.concurrent.Executor codecExecutor() {
        return CodecPool.EXECUTOR;
    }

    /**
     * {@code decode} applied to a reply that an I/O thread will deliver, never on that thread: on
     * the caller's thread when it waits for the result ({@code join()}/{@code get()}, on this
     * future or one made from it, the manager's included), else on {@link #codecExecutor()}. A
     * synchronous caller then pays one thread wake-up per read, as with the raw client.
     *
     * @param <R> the reply's type
     * @param <T> the decoded type
     * @param reply the reply an I/O thread completes
     * @param decode what turns the reply into the result
     * @return a future of the decoded result; it fails as the reply or the decoding fails
     */
    protected static <R, T> CompletableFuture<T> decodeAfter(CompletableFuture<R> reply,
            java.util.function.Function<? super R, ? extends T> decode) {
        return io.sessionbuddy.core.CallerRunsFuture.afterReply(reply, decode, CodecPool.EXECUTOR);
    }

    /** The shared codec pool, made on first use. */
    private static final class CodecPool {
        static final java.util.concurrent.ThreadPoolExecutor EXECUTOR = daemonPool("session-buddy-codec",
                Math.max(1, Integer.getInteger("sessionbuddy.codec.threads", Runtime.getRuntime().availableProcessors())));
    }

    /**
     * A pool of {@code threads} daemon threads named {@code name-N}, with an unbounded queue,
     * whose threads end after 30 s idle: for a backend's own bounded parallelism.
     *
     * @param name the threads' name prefix
     * @param threads the most threads
     * @return the pool
     */
    protected static java.util.concurrent.ThreadPoolExecutor daemonPool(String name, int threads) {
        java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(threads, threads,
                30, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), task -> {
                    Thread thread = new Thread(task, name + "-" + count.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /**
     * The default TTL of this storage.
     *
     * @return the time to live of writes without one
     */
    protected final Duration defaultTtl() {
        return defaultTtl;
    }

    /**
     * Now, by this storage's clock.
     *
     * @return the current instant
     */
    protected final Instant now() {
        return clock.instant();
    }
}
