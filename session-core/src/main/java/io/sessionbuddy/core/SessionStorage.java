package io.sessionbuddy.core;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The storage port: every backend implements it. All operations are asynchronous.
 *
 * <p>Rules every implementation follows (and {@code session-testkit}'s contract checks):
 * <ul>
 *   <li>Invalid arguments (a session id that fails {@link SessionIds#requireValid}, a {@code null}
 *       state, a non-positive ttl) throw {@link IllegalArgumentException} or
 *       {@link NullPointerException} at once, before the store is touched.</li>
 *   <li>Failures of the store complete the future exceptionally with
 *       {@link SessionStorageException}, which names the backend and the session. {@code false} and
 *       empty results mean only the normal outcomes named on each method.</li>
 *   <li>A write sets the stored record's {@code expires_at} to now + ttl; an expired session is
 *       absent from {@link #retrieveSession} and {@link #listSessions}.</li>
 *   <li>The store keeps the state as given, including its {@code version}; versions are advanced
 *       by {@link SessionManager}.</li>
 *   <li>After {@link #close()}, every operation fails with {@link SessionStorageException}.</li>
 * </ul>
 */
public interface SessionStorage extends AutoCloseable {

    /**
     * Stores {@code state}, replacing any stored session with the same id.
     *
     * @param state the session to store, with the version it should have in the store
     * @param ttl time to live from now; {@code null} means the configured default (24 h unless set)
     * @return a future of {@code true} once stored; it fails with {@link SessionStorageException}
     *     (or a subtype: too large, outcome unknown) when the store refuses or fails
     */
    CompletableFuture<Boolean> storeSession(SessionState state, Duration ttl);

    /**
     * Stores a session under an id that was just generated, as {@link SessionManager#createSession}
     * does: the same as {@link #storeSession} (a record already stored under the id is replaced, on
     * every backend), except that a backend may skip looking for a previous record of the id first.
     * The S3 backend then saves the {@code HEAD} a store makes to find the previous owner's index
     * entries (an entry left behind by an overwritten session of another owner is dropped by
     * listings and cleanup, as any stale entry is). The default stores.
     *
     * @param state the session to store, with the version it should have in the store
     * @param ttl time to live from now; {@code null} means the configured default
     * @return a future of {@code true} once stored; it fails as {@link #storeSession} does
     */
    default CompletableFuture<Boolean> storeNewSession(SessionState state, Duration ttl) {
        return storeSession(state, ttl);
    }

    /**
     * The stored session, or empty when there is none or it has expired.
     *
     * @param sessionId the session's id
     * @return a future of the session or empty; it fails with {@link CorruptSessionException} when
     *     the record cannot be read, and with {@link SessionStorageException} when the store fails
     */
    CompletableFuture<Optional<SessionState>> retrieveSession(String sessionId);

    /**
     * Gives a live session {@code ttl} again and reads it (sliding expiration, what
     * {@code refresh_ttl_on_read} makes {@link SessionManager#getSession} do): the returned
     * session carries the new expiry. The default is {@link #touchSession} and then
     * {@link #retrieveSession}; standalone Redis sends both at once, pipelined on its connection
     * (one round trip; the server runs them in order).
     *
     * @param sessionId the session's id
     * @param ttl the time to live to give it from now
     * @return a future of the session with its new expiry, or empty when it is absent or expired;
     *     failures as for {@link #retrieveSession} and {@link #touchSession}
     * @throws IllegalArgumentException for an invalid id or a non-positive ttl
     */
    default CompletableFuture<Optional<SessionState>> retrieveSession(String sessionId, Duration ttl) {
        Objects.requireNonNull(ttl, "ttl");
        return touchSession(sessionId, ttl).thenCompose(touched -> touched ? retrieveSession(sessionId)
                : CompletableFuture.completedFuture(Optional.empty()));
    }

    /**
     * The live sessions among {@code ids}, read together: the reads are issued back to back with up
     * to a bounded number in flight (pipelined on one connection on Redis, parallel requests on
     * S3, one pass in-process), not one round trip after the other.
     *
     * <p>The default reads with {@link #retrieveEach} and at most 16 reads in flight.
     *
     * @param ids the sessions to read; duplicates are read once
     * @return a future of the sessions found (absent and expired ones are left out), by id, in the
     *     order of {@code ids}, unmodifiable; it fails as {@link #retrieveSession} fails for the
     *     first read that failed (a damaged record, the store unreachable)
     * @throws IllegalArgumentException when an id is not a valid id, before anything is read
     * @throws NullPointerException when {@code ids} or one of them is {@code null}
     */
    default CompletableFuture<Map<String, SessionState>> retrieveSessions(Collection<String> ids) {
        return retrieveEach(this, ids, 16);
    }

    /**
     * Reads {@code ids} with {@link #retrieveSession}, at most {@code inFlight} at a time, each new
     * read started as one finishes: what {@link #retrieveSessions} does by default, for storages
     * that choose their own bound.
     *
     * @param storage the storage to read from
     * @param ids the sessions to read; duplicates are read once
     * @param inFlight the most reads in flight at once (at least 1)
     * @return a future as {@link #retrieveSessions} describes
     * @throws IllegalArgumentException when an id is not a valid id or {@code inFlight} is below 1
     */
    static CompletableFuture<Map<String, SessionState>> retrieveEach(SessionStorage storage, Collection<String> ids,
            int inFlight) {
        Objects.requireNonNull(storage, "storage");
        if (inFlight < 1) {
            throw new IllegalArgumentException("inFlight must be at least 1, was " + inFlight);
        }
        LinkedHashSet<String> distinct = new LinkedHashSet<>();
        for (String id : Objects.requireNonNull(ids, "ids")) {
            SessionIds.requireValid(Objects.requireNonNull(id, "an id in ids"));
            distinct.add(id);
        }
        if (distinct.isEmpty()) {
            return CompletableFuture.completedFuture(Map.of());
        }
        return new BulkRead(storage, List.copyOf(distinct)).start(inFlight);
    }

    /**
     * Gives a live session a new expiry, now + {@code ttl}, without changing anything else: its
     * version, {@code last_activity} and content stay as they are, and every later read (and
     * listing, and cleanup) sees the new expiry. Backends that can (memory, Redis) do it without
     * reading, decoding or rewriting the record; the default reads the session and writes it back
     * with compare-and-set on its unchanged version (retried up to three times when an update
     * lands in between).
     *
     * @param sessionId the session's id
     * @param ttl the new time to live from now; {@code null} means the configured default
     * @return a future of {@code true} when the session's expiry was moved, {@code false} when it is
     *     absent or expired
     * @throws IllegalArgumentException for an invalid id or a non-positive ttl
     */
    default CompletableFuture<Boolean> touchSession(String sessionId, Duration ttl) {
        SessionIds.requireValid(sessionId);
        if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
            throw new IllegalArgumentException("ttl must be positive, was " + ttl);
        }
        return rewriteExpiry(this, sessionId, ttl, 1);
    }

    /** The default {@link #touchSession}: read, then the same state again with compare-and-set. */
    private static CompletableFuture<Boolean> rewriteExpiry(SessionStorage storage, String sessionId, Duration ttl,
            int attempt) {
        return storage.retrieveSession(sessionId).thenCompose(found -> {
            if (found.isEmpty() || SessionManager.ROTATED_OWNER.equals(found.get().userId())) {
                return CompletableFuture.completedFuture(false); // a rotation's marker is not a session to extend
            }
            SessionState state = found.get();
            return storage.replaceSession(state, state.version(), ttl).thenCompose(done -> done || attempt >= 3
                    ? CompletableFuture.completedFuture(done) : rewriteExpiry(storage, sessionId, ttl, attempt + 1));
        });
    }

    /**
     * Moves a session to a new id, the step {@link SessionManager#rotateSessionId} is made of:
     * stores {@code copy} (the session under its new id) and replaces the record of
     * {@code marker.sessionId()} (the old id) by {@code marker}, only when that record is live and
     * has version {@code expectedVersion}. Standalone Redis does both in one atomic script; the
     * default stores the copy, then replaces the old record with compare-and-set, and deletes the
     * copy again when that fails.
     *
     * @param copy the session under its new id
     * @param ttl the copy's time to live
     * @param marker what takes the old record's place
     * @param expectedVersion the version the old record must have
     * @param markerTtl the marker's time to live
     * @return a future of {@code true} when moved, {@code false} when the old record is absent or
     *     not of {@code expectedVersion} (then the copy is not kept)
     */
    default CompletableFuture<Boolean> moveSession(SessionState copy, Duration ttl, SessionState marker,
            long expectedVersion, Duration markerTtl) {
        return storeSession(copy, ttl).thenCompose(stored -> replaceSession(marker, expectedVersion, markerTtl))
                .thenCompose(moved -> moved ? CompletableFuture.completedFuture(true)
                        : deleteSession(copy.sessionId()).thenApply(dropped -> false));
    }

    /**
     * Deletes a session.
     *
     * @param sessionId the session's id
     * @return a future of {@code true} when a live session was deleted, {@code false} when it did
     *     not exist; it fails with {@link SessionStorageException} when the store fails
     */
    CompletableFuture<Boolean> deleteSession(String sessionId);

    /**
     * The ids of the live sessions of a user and/or project, served from an index (never by reading
     * every session). Either filter may be {@code null}; with both {@code null}, every live session.
     *
     * @param userId the user, or {@code null} for any
     * @param projectId the project, or {@code null} for any
     * @return a future of the ids; it fails with {@link SessionStorageException} when the store fails
     */
    CompletableFuture<List<String>> listSessions(String userId, String projectId);

    /**
     * One page of {@link #listSessions(String, String)}: at most {@code limit} ids, ascending
     * ({@link SessionPage#ORDER}), after the cursor. Stable under concurrent writes: pages follow the id order, so a session
     * that lives through the whole walk is listed exactly once, never twice and never skipped;
     * one created or removed during the walk may or may not be listed.
     *
     * <p>The default takes each page from the full listing of the filter, so the reply is bounded
     * but the store still reads the whole index per page; the built-in backends read their index
     * from the cursor on instead (see their documentation), and {@code AbstractSessionStorage}
     * offers the same to other backends. Ids are in {@link SessionPage#ORDER}.
     *
     * @param userId the user, or {@code null} for any
     * @param projectId the project, or {@code null} for any
     * @param cursor {@code null} for the first page, then the previous page's {@link SessionPage#nextCursor()}
     * @param limit the most ids on the page, from 1 to 10,000
     * @return a future of the page; failures as for {@link #listSessions(String, String)}
     * @throws IllegalArgumentException for a limit out of range or a cursor no listing made
     */
    default CompletableFuture<SessionPage> listSessions(String userId, String projectId, String cursor, int limit) {
        SessionPage.requireLimit(limit);
        String lastId = SessionPage.lastIdOf(cursor);
        return listSessions(userId, projectId).thenApply(ids -> SessionPage.firstOf(ids, lastId, limit));
    }

    /**
     * The id of every record in the store, live or expired, readable or not, sorted: what a
     * migration or an audit walks, so that a corrupt record is reported when it is read rather
     * than silently passed over (as {@link #listSessions} passes over it). The default, for stores
     * that cannot list their records, is every live session.
     *
     * @return a future of the ids, sorted
     */
    default CompletableFuture<List<String>> listStoredSessionIds() {
        return listSessions(null, null).thenApply(ids -> ids.stream().sorted().toList());
    }

    /**
     * The backend's provider name ({@code redis}, {@code file}, ...), used in messages. The default
     * is the class's simple name, for storages that do not say.
     *
     * @return the name
     */
    default String backendName() {
        return getClass().getSimpleName();
    }

    /**
     * How long one command to the store may take before it fails (the backend's {@code timeout}),
     * or {@code null} when the store has no such setting. {@link SessionManager} bounds each call
     * by twice this unless {@code operation_timeout_seconds} says otherwise.
     *
     * @return the command timeout, or {@code null}
     */
    default java.time.Duration timeout() {
        return null;
    }

    /**
     * Removes expired sessions and stale index entries.
     *
     * @return a future of how many sessions were removed; it fails with
     *     {@link SessionStorageException} when the store fails
     */
    CompletableFuture<Integer> cleanupExpiredSessions();

    /**
     * A real round trip to the store.
     *
     * @return a future of {@code true} when it answered; it never fails ({@code false} instead)
     */
    CompletableFuture<Boolean> isAvailable();

    /**
     * Compare-and-set: stores {@code state} only when the stored session exists, has not expired
     * and has version {@code expectedVersion}.
     *
     * @param state the new state, with the version it should have in the store
     * @param expectedVersion the version the stored session must have
     * @param ttl time to live from now; {@code null} means the configured default
     * @return {@code true} when stored, {@code false} when the version did not match or the session
     *     is absent
     */
    CompletableFuture<Boolean> replaceSession(SessionState state, long expectedVersion, Duration ttl);

    /** Releases connections, files and threads. Idempotent. */
    @Override
    void close();

    /**
     * Adds an observer of this storage's operations (timings and outcomes, damaged records, record
     * sizes, cleanups, index repairs, expired sessions): see {@link SessionObserver}.
     *
     * @param observer the observer; it must not block
     * @return {@code true} when this storage reports to observers (every storage built on the
     *     library's {@code AbstractSessionStorage} does); {@code false} when it ignores them
     */
    default boolean addObserver(SessionObserver observer) {
        return false;
    }

    /**
     * Removes an observer added with {@link #addObserver}.
     *
     * @param observer the observer
     * @return {@code true} if it was there
     */
    default boolean removeObserver(SessionObserver observer) {
        return false;
    }
}
