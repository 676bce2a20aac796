package io.sessionbuddy.core;

import io.sessionbuddy.core.format.StoredFormat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * What applications call: create, read, update, touch, delete and list sessions on one
 * {@link SessionStorage}.
 *
 * <p>Updates are optimistic: read, change, then {@link SessionStorage#replaceSession compare-and-set}
 * on the version; on a conflict the update re-reads and tries again (with a short random back-off),
 * up to {@link SessionBuddyConfig#maxUpdateAttempts()} attempts, then fails with
 * {@link SessionConflictException}. Concurrent updates are therefore never lost. Updates of one
 * session through one manager are queued and run one at a time, so that the writers of one process
 * do not compete with each other; compare-and-set settles races between processes. Every write sets
 * {@code last_activity}; a write without a ttl keeps the session's remaining time to live.
 *
 * <p>The manager keeps no cache: every read goes to the store, so two function instances sharing a
 * session never see stale state. It is thread-safe and does not own the storage (closing the
 * storage is its creator's job).
 */
public final class SessionManager {
    /** Fields an update map may name. */
    public static final Set<String> UPDATABLE_FIELDS = Set.of(
            SessionJsonCodec.USER_ID, SessionJsonCodec.PROJECT_ID, SessionJsonCodec.PERMISSIONS,
            SessionJsonCodec.CONVERSATION_HISTORY, SessionJsonCodec.REFLECTION_DATA,
            SessionJsonCodec.APP_MONITORING_STATE, SessionJsonCodec.LLM_PROVIDER_CONFIGS,
            SessionJsonCodec.METADATA);
    /**
     * Runs queued updates and retries after a back-off: cached daemon threads, reused. Not
     * CompletableFuture's default async pool, which on machines with fewer than 3 cores (serverless
     * functions) starts a new thread for every task.
     */
    private static final java.util.concurrent.Executor HANDOFF = java.util.concurrent.Executors.newCachedThreadPool(
            new java.util.concurrent.ThreadFactory() {
                private final java.util.concurrent.atomic.AtomicInteger count =
                        new java.util.concurrent.atomic.AtomicInteger();

                @Override
                public Thread newThread(Runnable task) {
                    Thread thread = new Thread(task, "session-buddy-update-" + count.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                }
            });

    /** Deadlines of calls; a finished call cancels (and removes) its own. */
    private static final java.util.concurrent.ScheduledThreadPoolExecutor DEADLINES = deadlineTimer();

    private static java.util.concurrent.ScheduledThreadPoolExecutor deadlineTimer() {
        java.util.concurrent.ScheduledThreadPoolExecutor timer = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
                task -> {
                    Thread thread = new Thread(task, "session-buddy-deadlines");
                    thread.setDaemon(true);
                    return thread;
                });
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }

    private final SessionStorage storage;
    private final SessionBuddyConfig config;
    private final Clock clock;
    private final ObserverList observers = new ObserverList();
    private final SessionEvents events;
    /** The queued updates of each session that has one running; see {@link #inTurn}. */
    private final java.util.concurrent.ConcurrentHashMap<String, java.util.ArrayDeque<Supplier<CompletableFuture<?>>>>
            turns = new java.util.concurrent.ConcurrentHashMap<>();
    /** Set while a thread drains a session's queue, so that a completion on it does not nest a drain. */
    private static final ThreadLocal<Boolean> DRAINING = ThreadLocal.withInitial(() -> false);
    /** Updates one thread runs in a row for others before it hands the rest to a pool thread. */
    private static final int DRAIN_BUDGET = 64;

    /**
     * A manager over {@code storage} with the default configuration and the system clock.
     *
     * @param storage the store (not closed by the manager)
     */
    public SessionManager(SessionStorage storage) {
        this(storage, SessionBuddyConfig.defaults(), Clock.systemUTC());
    }

    /**
     * A manager over {@code storage}.
     *
     * @param storage the store (not closed by the manager)
     * @param config supplies the default TTL, the update attempt bound and what {@link #stats()} shows
     * @param clock the time source for {@code created_at}, {@code last_activity} and remaining TTLs
     */
    public SessionManager(SessionStorage storage, SessionBuddyConfig config, Clock clock) {
        this.storage = Objects.requireNonNull(storage, "storage");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.events = new SessionEvents(storage, observers, clock);
    }

    /**
     * Adds an observer of this manager's updates (their time, attempts and outcome) and of its
     * listeners; the storage's own operations are observed through {@link SessionStorage#addObserver}.
     *
     * @param observer told of updates (see {@link SessionObserver}); added once
     */
    public void addObserver(SessionObserver observer) {
        observers.add(observer);
    }

    /**
     * Removes an observer added with {@link #addObserver}.
     *
     * @param observer the observer
     * @return {@code true} if it was there
     */
    public boolean removeObserver(SessionObserver observer) {
        return observers.remove(observer);
    }

    /**
     * Adds a listener of session events: sessions created, updated and deleted through this manager,
     * and sessions the store removed as expired. See {@link SessionListener} for how events are
     * delivered.
     *
     * @param listener told of events on the manager's events thread; added once
     */
    public void addListener(SessionListener listener) {
        events.add(listener);
    }

    /**
     * Removes a listener added with {@link #addListener}.
     *
     * @param listener the listener
     * @return {@code true} if it was there
     */
    public boolean removeListener(SessionListener listener) {
        return events.remove(listener);
    }

    /**
     * The storage this manager writes to.
     *
     * @return the storage given to the constructor
     */
    public SessionStorage storage() {
        return storage;
    }

    /**
     * Creates a session with no metadata and the default TTL.
     *
     * @param userId the owner, non-empty
     * @param projectId the project, non-empty
     * @return a future of the new session's id (128 random bits as 32 hex characters); it fails with
     *     {@link SessionStorageException} when the store fails (after one check that a write with an
     *     unknown outcome did not land) or the operation timeout passes
     * @throws IllegalArgumentException when an id is empty
     */
    public CompletableFuture<String> createSession(String userId, String projectId) {
        return createSession(userId, projectId, null, null);
    }

    /**
     * Creates a session with a fresh random id.
     *
     * @param userId the owner, non-empty
     * @param projectId the project, non-empty
     * @param metadata initial metadata (JSON-compatible values), or {@code null}
     * @param ttl time to live, or {@code null} for the default
     * @return a future of the new session's id; it fails with {@link SessionStorageException} (a
     *     {@link SessionTooLargeException} over the size limit) when the session cannot be stored
     * @throws IllegalArgumentException when an id is empty or a metadata value is not JSON-compatible
     */
    public CompletableFuture<String> createSession(String userId, String projectId, Map<String, ?> metadata,
            Duration ttl) {
        Instant now = clock.instant();
        SessionState state = SessionState.builder(SessionIds.generate(), userId, projectId)
                .createdAt(now)
                .lastActivity(now)
                .metadata(metadata)
                .version(1)
                .build();
        return bounded(state.sessionId(), "create", true, () -> storage.storeNewSession(state, ttl)
                .exceptionallyCompose(error -> {
                    if (!(unwrap(error) instanceof SessionOutcomeUnknownException)) {
                        return CompletableFuture.failedFuture(unwrap(error));
                    }
                    // The new session may or may not be stored: look. Storing it again is harmless
                    // (same id, same content), so when it is absent the store is retried once.
                    return storage.retrieveSession(state.sessionId()).thenCompose(found -> found.isPresent()
                            && sameContent(found.get(), state) ? CompletableFuture.completedFuture(true)
                            : storage.storeNewSession(state, ttl));
                }))
                .thenApply(stored -> {
                    events.publish(SessionEvent.Type.CREATED, state.sessionId(), state.userId(), state.projectId(),
                            state.version());
                    return state.sessionId();
                });
    }

    /**
     * Reads a session. With {@code refresh_ttl_on_read} (sliding expiration), a session found is
     * first given the default time to live again ({@link SessionStorage#retrieveSession(String,
     * Duration)}: a touch, so its version and content do not change) and is returned with that expiry.
     *
     * @param sessionId the session's id
     * @return a future of the session, empty when absent or expired; it fails with
     *     {@link CorruptSessionException} when the stored record cannot be decoded, and with
     *     {@link SessionStorageException} when the store fails or the operation timeout passes
     * @throws IllegalArgumentException when the id is not a valid id ({@link SessionIds})
     */
    public CompletableFuture<Optional<SessionState>> getSession(String sessionId) {
        if (config.refreshTtlOnRead()) {
            SessionIds.requireValid(sessionId);
            return bounded(sessionId, "get", false,
                    () -> withoutMoved(storage.retrieveSession(sessionId, config.defaultTtl())));
        }
        return bounded(sessionId, "get", false, () -> withoutMoved(storage.retrieveSession(sessionId)));
    }

    /**
     * The user and project of the marker {@link #rotateSessionId} leaves under an old id for a short
     * while (reserved: do not give a real session this user). It holds no session data; the manager
     * reads it as absent, and updates of the old id fail with {@link SessionMovedException}.
     */
    public static final String ROTATED_OWNER = "~session-buddy-rotated~";
    /** The marker's extra field holding the new id. */
    static final String MOVED_TO = "_session_buddy_moved_to";

    /** The id a rotation marker points to, or {@code null} for a session. */
    private static String movedTo(SessionState state) {
        if (!ROTATED_OWNER.equals(state.userId())) {
            return null;
        }
        com.fasterxml.jackson.databind.JsonNode to = state.extraFields().get(MOVED_TO);
        return to == null ? null : to.asText();
    }

    /** A read with a rotation's marker read as absent; no second future when the read finished at once. */
    private static CompletableFuture<Optional<SessionState>> withoutMoved(CompletableFuture<Optional<SessionState>> read) {
        if (read.isDone() && !read.isCompletedExceptionally()) {
            Optional<SessionState> found = read.join();
            return found.isPresent() && movedTo(found.get()) != null ? CompletableFuture.completedFuture(Optional.empty())
                    : read;
        }
        return read.thenApply(found -> found.isPresent() && movedTo(found.get()) != null ? Optional.empty() : found);
    }

    /**
     * Gives a session a new, random id (the defence against session fixation that web frameworks
     * apply at login): the session's content, version history aside, moves to the new id with its
     * remaining time to live, and the old id stops working.
     *
     * <p>Works the same on every backend with its own compare-and-set: the session is written
     * under the new id, then the old record is replaced, on the condition that it is still the
     * version that was copied, by a small marker that names the new id and holds no session data
     * (it expires after twice the operation timeout, at least a minute; its user is
     * {@link #ROTATED_OWNER}, so no user's listing shows it). An update of the old id that lands
     * first is carried over (the copy is made again from it); one that comes later fails with
     * {@link SessionMovedException} naming the new id. {@link #getSession} of the old id is empty
     * from the moment the marker is written. Until then nobody knows the new id, so the move is
     * atomic for every caller; a crash in between leaves an unknown copy that expires with the
     * session.
     *
     * @param sessionId the session's current id
     * @return a future of the new id, or empty when the session is absent or expired; it fails with
     *     {@link SessionMovedException} when the id was already rotated, {@link SessionConflictException}
     *     when every attempt lost a race, and {@link SessionStorageException} when the store fails
     * @throws IllegalArgumentException when the id is not a valid id
     */
    public CompletableFuture<Optional<String>> rotateSessionId(String sessionId) {
        SessionIds.requireValid(sessionId);
        String newId = SessionIds.generate();
        CompletableFuture<Optional<SessionState>> moved = this.<Optional<SessionState>>boundedUpdate(sessionId,
                "rotate", true, deadline -> inTurn(sessionId, () -> rotate(sessionId, newId, 1, deadline)));
        if (events.isEmpty()) {
            return moved.thenApply(state -> state.map(SessionState::sessionId));
        }
        return moved.thenApply(state -> {
            state.ifPresent(s -> {
                events.publish(SessionEvent.Type.CREATED, s.sessionId(), s.userId(), s.projectId(), s.version());
                events.publish(SessionEvent.Type.DELETED, sessionId, s.userId(), s.projectId(), -1);
            });
            return state.map(SessionState::sessionId);
        });
    }

    /**
     * One attempt of a rotation: {@link SessionStorage#moveSession} of the current state to
     * {@code newId}, the old record replaced by the marker only if it is still the version read.
     */
    private CompletableFuture<Optional<SessionState>> rotate(String oldId, String newId, int attempt,
            CompletableFuture<?> deadline) {
        if (deadline.isDone()) {
            return CompletableFuture.failedFuture(deadlinePassed(oldId, "rotate", true));
        }
        return storage.retrieveSession(oldId).thenCompose(found -> {
            String movedTo = found.map(SessionManager::movedTo).orElse(null);
            if (newId.equals(movedTo)) {
                return storage.retrieveSession(newId); // this very move landed (a write sent again)
            }
            if (movedTo != null) {
                throw new SessionMovedException(storage.backendName(), oldId, movedTo);
            }
            if (found.isEmpty()) {
                return CompletableFuture.completedFuture(Optional.<SessionState>empty());
            }
            SessionState current = found.get();
            Instant now = clock.instant();
            Duration remaining = current.expiresAt() == null ? config.defaultTtl()
                    : Duration.between(now, current.expiresAt());
            if (remaining.toMillis() <= 0) {
                return CompletableFuture.completedFuture(Optional.<SessionState>empty());
            }
            SessionState copy = current.toBuilder().sessionId(newId).version(1).lastActivity(now).build();
            SessionState marker = SessionState.builder(oldId, ROTATED_OWNER, ROTATED_OWNER).createdAt(now)
                    .version(current.version() + 1)
                    .extraField(MOVED_TO, com.fasterxml.jackson.databind.node.TextNode.valueOf(newId)).build();
            Duration markerTtl = operationTimeout().multipliedBy(2);
            if (markerTtl.compareTo(Duration.ofMinutes(1)) < 0) {
                markerTtl = Duration.ofMinutes(1);
            }
            return settledMove(storage.moveSession(copy, remaining, marker, current.version(), markerTtl), oldId, newId)
                    .thenCompose(moved -> {
                        if (moved) {
                            return CompletableFuture.completedFuture(Optional.of(copy));
                        }
                        if (attempt >= config.maxUpdateAttempts()) {
                            return CompletableFuture.failedFuture(new SessionConflictException(storage.backendName(),
                                    oldId, attempt));
                        }
                        // an update of the old id landed first: copy again from it, after the same
                        // random back-off as an update's retries
                        return later(attempt + 1, () -> rotate(oldId, newId, attempt + 1, deadline));
                    });
        });
    }

    /** A move whose outcome is unknown (a lost reply) is settled by reading the old id's record. */
    private CompletableFuture<Boolean> settledMove(CompletableFuture<Boolean> move, String oldId, String newId) {
        return move.exceptionallyCompose(error -> {
            Throwable cause = unwrap(error);
            if (!(cause instanceof SessionOutcomeUnknownException)) {
                return CompletableFuture.failedFuture(cause);
            }
            return storage.retrieveSession(oldId).thenCompose(found -> {
                String movedTo = found.map(SessionManager::movedTo).orElse(null);
                if (newId.equals(movedTo)) {
                    return CompletableFuture.completedFuture(true);
                }
                if (found.isPresent() && movedTo == null) {
                    return CompletableFuture.completedFuture(false); // not moved: try again
                }
                return CompletableFuture.failedFuture(cause);
            });
        });
    }

    /**
     * Reads several sessions together ({@link SessionStorage#retrieveSessions}: pipelined on Redis,
     * parallel bounded requests on S3, one pass in-process), within one operation timeout.
     *
     * @param sessionIds the sessions to read; duplicates are read once
     * @return a future of the live sessions found, by id, in the order given (absent and expired
     *     ones left out), unmodifiable; it fails as {@link #getSession} fails for the first read that
     *     failed, and with {@link SessionStorageException} when the operation timeout passes
     * @throws IllegalArgumentException when an id is not a valid id, before anything is read
     * @throws NullPointerException when {@code sessionIds} or one of them is {@code null}
     */
    public CompletableFuture<Map<String, SessionState>> getSessions(java.util.Collection<String> sessionIds) {
        List<String> ids = List.copyOf(Objects.requireNonNull(sessionIds, "sessionIds"));
        ids.forEach(SessionIds::requireValid);
        return bounded(null, "get sessions", false, () -> storage.retrieveSessions(ids).thenApply(SessionManager::sessionsOnly));
    }

    /**
     * A user's live sessions themselves, not only their ids: {@link #listUserSessions} and then one
     * bulk read ({@link #getSessions}), within one operation timeout.
     *
     * @param userId the user
     * @return a future of the sessions, in the listing's order; a session deleted or expired between the
     *     listing and the read is left out; failures as for {@link #getSessions}
     */
    public CompletableFuture<List<SessionState>> listUserSessionStates(String userId) {
        Objects.requireNonNull(userId, "userId");
        return listSessionStates(userId, null);
    }

    /**
     * Live sessions by user and/or project, the sessions themselves: {@link #listSessions} and then
     * one bulk read, within one operation timeout.
     *
     * @param userId the user, or {@code null} for any
     * @param projectId the project, or {@code null} for any
     * @return a future of the sessions, in the listing's order; failures as for {@link #listUserSessionStates}
     */
    public CompletableFuture<List<SessionState>> listSessionStates(String userId, String projectId) {
        return bounded(null, "list", false, () -> storage.listSessions(userId, projectId)
                .thenCompose(storage::retrieveSessions).thenApply(found -> List.copyOf(sessionsOnly(found).values())));
    }

    /** {@code found} without rotation markers (the same map when it holds none). */
    private static Map<String, SessionState> sessionsOnly(Map<String, SessionState> found) {
        if (found.values().stream().noneMatch(s -> movedTo(s) != null)) {
            return found;
        }
        Map<String, SessionState> sessions = new LinkedHashMap<>(found);
        sessions.values().removeIf(s -> movedTo(s) != null);
        return java.util.Collections.unmodifiableMap(sessions);
    }

    /**
     * Sets fields of a session by their JSON names (the original's update), keeping its remaining
     * TTL when {@code ttl} is {@code null}.
     *
     * @param sessionId the session's id
     * @param fieldUpdates JSON field name to new value; see {@link #UPDATABLE_FIELDS}
     * @param ttl the new time to live, or {@code null} to keep the remaining one
     * @return a future of {@code false} when the session is absent, {@code true} once the change is
     *     stored; it fails with {@link SessionConflictException} when every attempt lost a race, and
     *     with {@link SessionStorageException} when the store fails
     * @throws IllegalArgumentException for an unknown or read-only field, or a value of the wrong shape
     */
    public CompletableFuture<Boolean> updateSession(String sessionId, Map<String, ?> fieldUpdates, Duration ttl) {
        Objects.requireNonNull(fieldUpdates, "fieldUpdates");
        Map<String, JsonNode> values = new LinkedHashMap<>();
        fieldUpdates.forEach((field, value) -> {
            if (!UPDATABLE_FIELDS.contains(field)) {
                throw new IllegalArgumentException(SessionJsonCodec.KNOWN_FIELDS.contains(field)
                        ? "session field '" + field + "' cannot be updated: the manager maintains it"
                        : "unknown session field '" + field + "' (updatable fields: "
                                + new java.util.TreeSet<>(UPDATABLE_FIELDS) + ")");
            }
            values.put(field, updateValue(field, value));
        });
        return updateSession(sessionId, state -> applyFields(state, values), ttl).thenApply(Optional::isPresent);
    }

    /**
     * Changes a session with {@code change}, retrying on conflicts; keeps the remaining TTL.
     *
     * @param sessionId the session's id
     * @param change maps the current state to the new one; may be called more than once, so it must
     *     not have side effects; must keep the session id
     * @return a future of the stored new state, or empty when the session is absent; it fails with
     *     {@link SessionConflictException} when every attempt lost a race (see
     *     {@code max_update_attempts}), and with {@link SessionStorageException} when the store fails
     */
    public CompletableFuture<Optional<SessionState>> updateSession(String sessionId,
            UnaryOperator<SessionState> change) {
        return updateSession(sessionId, change, null);
    }

    /**
     * Like {@link #updateSession(String, UnaryOperator)} with a new time to live ({@code null} keeps
     * the remaining one).
     *
     * @param sessionId the session's id
     * @param change maps the current state to the new one; may be called more than once
     * @param ttl the new time to live, or {@code null}
     * @return a future of the stored new state, or empty when the session is absent; failures as
     *     for {@link #updateSession(String, UnaryOperator)}
     */
    public CompletableFuture<Optional<SessionState>> updateSession(String sessionId,
            UnaryOperator<SessionState> change, Duration ttl) {
        SessionIds.requireValid(sessionId);
        Objects.requireNonNull(change, "change");
        SessionObserver.Timing timing = observers.start(storage.backendName(), SessionObserver.Operation.UPDATE);
        CompletableFuture<Optional<SessionState>> result = this.<Optional<SessionState>>boundedUpdate(sessionId,
                "update", true, deadline -> inTurn(sessionId, () -> attempt(sessionId, change, ttl, true, 1, deadline)));
        if (timing == SessionObserver.Timing.NONE && events.isEmpty()) {
            return result;
        }
        return result.whenComplete((updated, error) -> {
            timing.stop(SessionObserver.Outcome.of(SessionObserver.Operation.UPDATE, updated, error), error);
            if (error == null && updated.isPresent()) {
                SessionState next = updated.get();
                events.publish(SessionEvent.Type.UPDATED, sessionId, next.userId(), next.projectId(), next.version());
            }
        });
    }

    /**
     * Extends a session: a new time to live from now, and nothing else ({@link
     * SessionStorage#touchSession}: its version, content and {@code last_activity} stay as they are;
     * on memory and Redis without reading or rewriting the record, so a large session's touch costs
     * what a small one's does). To stamp {@code last_activity} as well, update the session
     * ({@code updateSession(id, UnaryOperator.identity(), ttl)}).
     *
     * @param sessionId the session's id
     * @param ttl the new time to live from now, or {@code null} for the default
     * @return a future of {@code false} when the session is absent or expired (or its id was
     *     rotated away); it fails with {@link SessionStorageException} when the store fails
     */
    public CompletableFuture<Boolean> touch(String sessionId, Duration ttl) {
        SessionIds.requireValid(sessionId);
        Duration newTtl = ttl != null ? ttl : config.defaultTtl();
        CompletableFuture<Boolean> touched = bounded(sessionId, "touch", true, () -> storage.touchSession(sessionId, newTtl));
        if (events.isEmpty()) {
            return touched;
        }
        return touched.whenComplete((done, error) -> {
            if (error == null && done) {
                // the record was not read: user, project and version are not known here
                events.publish(SessionEvent.Type.UPDATED, sessionId, null, null, -1);
            }
        });
    }

    /**
     * Writes a session again, unchanged but for its version (+1): same fields, same
     * {@code last_activity}, same remaining time to live. The new record is in the storage's current
     * stored format, encrypted with the active key. Safe against concurrent updates (compare-and-set).
     *
     * @param sessionId the session's id
     * @return a future of {@code false} when the session is absent or expired; failures as for an update
     */
    public CompletableFuture<Boolean> rewriteSession(String sessionId) {
        SessionIds.requireValid(sessionId);
        return this.<Optional<SessionState>>boundedUpdate(sessionId, "rewrite", true, deadline -> inTurn(sessionId,
                () -> attempt(sessionId, UnaryOperator.identity(), null, false, 1, deadline)))
                .thenApply(Optional::isPresent);
    }

    /**
     * Rewrites every stored session with {@link #rewriteSession(String)}, one after the other: after
     * a new encryption key is made active, this re-encrypts the store so that the old key can be
     * dropped. It walks {@link SessionStorage#listStoredSessionIds()}, every record the store holds,
     * readable or not, so a record that cannot be read (damaged, or encrypted with a key no longer
     * in the key ring) is reported in {@link RewriteReport#failures()} and left as it is; it does
     * not stop the others. Expired records count as {@link RewriteReport#vanished()}.
     *
     * @return a future of the report; it fails only when the store cannot list its records
     */
    public CompletableFuture<RewriteReport> rewriteAllSessions() {
        return storage.listStoredSessionIds().thenCompose(ids -> {
            CompletableFuture<RewriteReport> chain = CompletableFuture.completedFuture(
                    new RewriteReport(0, 0, Map.of()));
            for (String id : ids) {
                chain = chain.thenCompose(report -> rewriteSession(id).handle((rewritten, error) -> {
                    if (error != null) {
                        Throwable cause = error.getCause() != null && !(error instanceof SessionStorageException)
                                ? error.getCause() : error;
                        Map<String, String> failures = new LinkedHashMap<>(report.failures());
                        failures.put(id, cause.getMessage());
                        return new RewriteReport(report.rewritten(), report.vanished(), failures);
                    }
                    return rewritten ? new RewriteReport(report.rewritten() + 1, report.vanished(), report.failures())
                            : new RewriteReport(report.rewritten(), report.vanished() + 1, report.failures());
                }));
            }
            return chain;
        });
    }

    /**
     * What {@link #rewriteAllSessions()} did.
     *
     * @param rewritten sessions written again
     * @param vanished sessions listed but gone (deleted or expired) before their turn
     * @param failures sessions that could not be rewritten, with the reason, by id
     */
    public record RewriteReport(int rewritten, int vanished, Map<String, String> failures) {
        /**
         * Copies the map.
         *
         * @param rewritten sessions written again
         * @param vanished sessions listed but gone before their turn
         * @param failures sessions that could not be rewritten, with the reason, by id
         */
        public RewriteReport {
            failures = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(failures));
        }
    }

    /**
     * Deletes a session.
     *
     * @param sessionId the session's id
     * @return a future of {@code false} when it did not exist (or had expired); it fails with
     *     {@link SessionStorageException} when the store fails ({@link SessionOutcomeUnknownException}
     *     when the delete may or may not have landed)
     */
    public CompletableFuture<Boolean> deleteSession(String sessionId) {
        CompletableFuture<Boolean> deleted = bounded(sessionId, "delete", true, () -> storage.deleteSession(sessionId));
        if (events.isEmpty()) {
            return deleted;
        }
        return deleted.whenComplete((existed, error) -> {
            if (error == null && existed) {
                events.publish(SessionEvent.Type.DELETED, sessionId, null, null, -1);
            }
        });
    }

    /**
     * Lists a user's live sessions.
     *
     * @param userId the user
     * @return a future of their ids; it fails with {@link SessionStorageException} when the store fails
     */
    public CompletableFuture<List<String>> listUserSessions(String userId) {
        Objects.requireNonNull(userId, "userId");
        return bounded(null, "list", false, () -> storage.listSessions(userId, null));
    }

    /**
     * Lists a project's live sessions.
     *
     * @param projectId the project
     * @return a future of their ids; it fails with {@link SessionStorageException} when the store fails
     */
    public CompletableFuture<List<String>> listProjectSessions(String projectId) {
        Objects.requireNonNull(projectId, "projectId");
        return bounded(null, "list", false, () -> storage.listSessions(null, projectId));
    }

    /**
     * Lists live sessions by user and/or project.
     *
     * @param userId the user, or {@code null} for any
     * @param projectId the project, or {@code null} for any
     * @return a future of their ids; it fails with {@link SessionStorageException} when the store fails
     */
    public CompletableFuture<List<String>> listSessions(String userId, String projectId) {
        return bounded(null, "list", false, () -> storage.listSessions(userId, projectId));
    }

    /**
     * One page of live sessions by user and/or project ({@link SessionStorage#listSessions(String,
     * String, String, int)}): ids ascending ({@link SessionPage#ORDER}), a session that lives
     * through the whole walk listed exactly once.
     *
     * @param userId the user, or {@code null} for any
     * @param projectId the project, or {@code null} for any
     * @param cursor {@code null} for the first page, then the previous page's {@link SessionPage#nextCursor()}
     * @param limit the most ids on the page, from 1 to 10,000
     * @return a future of the page; it fails with {@link SessionStorageException} when the store fails
     * @throws IllegalArgumentException for a limit out of range or a cursor no listing made
     */
    public CompletableFuture<SessionPage> listSessions(String userId, String projectId, String cursor, int limit) {
        SessionPage.requireLimit(limit);
        SessionPage.lastIdOf(cursor); // a bad cursor fails the call itself, whatever the storage checks
        return bounded(null, "list", false, () -> storage.listSessions(userId, projectId, cursor, limit));
    }

    /**
     * Removes expired sessions (and repairs index entries); the store reports each removed session
     * to listeners as expired.
     *
     * @return a future of how many sessions were removed; it fails with {@link SessionStorageException}
     *     when the store fails
     */
    public CompletableFuture<Integer> cleanupSessions() {
        return storage.cleanupExpiredSessions();
    }

    /**
     * Whether the store answers (a real round trip).
     *
     * @return a future of {@code true} when it answered; it does not fail ({@code false} instead)
     */
    public CompletableFuture<Boolean> isAvailable() {
        return storage.isAvailable();
    }

    /**
     * The backend, its settings (secrets hidden by {@link Secrets#mask}: secret-named keys and the
     * user-info of URIs), the default TTL, and whether the store answers.
     *
     * @return a future of the facts by name, safe to log or show
     */
    public CompletableFuture<Map<String, Object>> stats() {
        return storage.isAvailable().thenApply(available -> {
            Map<String, Object> stats = new LinkedHashMap<>();
            stats.put("storage_backend", config.storageBackend());
            stats.put("storage_class", storage.getClass().getSimpleName());
            stats.put("storage_config", Secrets.mask(config.selectedBackendSettings()));
            stats.put("default_ttl_seconds", config.defaultTtl().toSeconds());
            stats.put("cleanup_interval_seconds", config.cleanupInterval().toSeconds());
            stats.put("max_update_attempts", config.maxUpdateAttempts());
            StoredFormat format = config.storedFormat();
            Map<String, Object> stored = new LinkedHashMap<>();
            stored.put("compression", format.compression().configName());
            stored.put("compression_threshold_bytes", format.compressionThresholdBytes());
            stored.put("max_session_bytes", format.maxSessionBytes());
            stored.put("encryption", format.keyRing().isEmpty() ? "none" : "AES-256-GCM");
            if (!format.keyRing().isEmpty()) {
                stored.put("encryption_active_key_id", format.keyRing().activeKeyId());
                stored.put("encryption_key_ids", List.copyOf(format.keyRing().keyIds()));
                stored.put("encryption_required", format.encryptionRequired());
            }
            stats.put("stored_format", stored);
            if (!config.deprecations().isEmpty()) {
                // also here, not only in the log: without an SLF4J binding the log shows nothing
                stats.put("deprecations", config.deprecations());
            }
            stats.put("available", available);
            return stats;
        });
    }

    /**
     * Whether a config key names a secret.
     *
     * @param key a config key
     * @return whether its value is hidden when shown
     * @deprecated use {@link Secrets#isSecretKey(String)}
     */
    @Deprecated
    @SuppressWarnings("InlineMeSuggester") // kept for callers of 0.1 snapshots; to be removed before 1.0
    public static boolean isSecretKey(String key) {
        return Secrets.isSecretKey(key);
    }

    /**
     * The bound of every call: {@code operation_timeout_seconds} when configured, else twice the
     * storage's own command timeout, else {@link SessionBuddyConfig#DEFAULT_OPERATION_TIMEOUT}.
     *
     * @return the bound; a call still running then fails with {@link SessionStorageException} (a
     *     write: {@link SessionOutcomeUnknownException})
     */
    public Duration operationTimeout() {
        Duration configured = config.operationTimeout();
        if (!configured.isZero()) {
            return configured;
        }
        Duration command = storage.timeout();
        return command != null ? command.multipliedBy(2) : SessionBuddyConfig.DEFAULT_OPERATION_TIMEOUT;
    }

    private SessionStorageException deadlinePassed(String sessionId, String operation, boolean write) {
        String message = operation + " did not finish within " + operationTimeout().toMillis()
                + " ms (operation_timeout_seconds)";
        return write ? new SessionOutcomeUnknownException(storage.backendName(), sessionId, message
                + "; the change may or may not be stored: read the session before applying it again", null)
                : new SessionStorageException(storage.backendName(), sessionId, message, null);
    }

    /** {@code call}'s result, or a failure once {@link #operationTimeout()} has passed. */
    private <T> CompletableFuture<T> bounded(String sessionId, String operation, boolean write,
            Supplier<CompletableFuture<T>> call) {
        return boundedUpdate(sessionId, operation, write, deadline -> call.get());
    }

    /**
     * Runs {@code call} with a deadline: the returned future fails when the deadline passes first
     * (queue wait included), and {@code call} gets the same future to see that it was abandoned.
     */
    private <T> CompletableFuture<T> boundedUpdate(String sessionId, String operation, boolean write,
            java.util.function.Function<CompletableFuture<T>, CompletableFuture<T>> call) {
        CallerRunsFuture<T> result = new CallerRunsFuture<>();
        long started = System.nanoTime();
        CompletableFuture<T> work;
        try {
            work = call.apply(result);
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
            throw e;
        }
        result.follow(work); // a caller waiting on the result decodes the reply itself (CallerRunsFuture)
        if (!work.isDone()) {
            // No timer for a call that finished at once (an in-process store): scheduling and
            // cancelling one would cost more than the call.
            long left = operationTimeout().toNanos() - (System.nanoTime() - started);
            java.util.concurrent.ScheduledFuture<?> timer = DEADLINES.schedule(() -> HANDOFF.execute(
                    () -> result.completeExceptionally(deadlinePassed(sessionId, operation, write))),
                    Math.max(0, left), TimeUnit.NANOSECONDS);
            var unusedCancel = result.whenComplete((value, error) -> timer.cancel(false));
        }
        var unusedTurn = work.whenComplete((value, error) -> {
            if (error == null) {
                result.complete(value);
            } else {
                result.completeExceptionally(unwrap(error));
            }
        });
        return result;
    }

    /**
     * Runs the updates of one session made through this manager one at a time, in arrival order.
     * Local writers then never race each other (under sustained contention they would otherwise
     * lose compare-and-sets to each other, and one could exhaust its attempts); compare-and-set still
     * settles races with other processes.
     */
    private <T> CompletableFuture<T> inTurn(String sessionId, Supplier<CompletableFuture<T>> body) {
        CallerRunsFuture<T> result = new CallerRunsFuture<>();
        Supplier<CompletableFuture<?>> task = () -> {
            CompletableFuture<T> work = start(body);
            result.follow(work);
            var unusedFollow = work.whenComplete((value, error) -> {
                if (error == null) {
                    result.complete(value);
                } else {
                    result.completeExceptionally(error);
                }
            });
            return work;
        };
        boolean[] first = {false};
        // The map holds a session's queue while one of its updates runs: the caller that finds none
        // runs the queue (its own update first); the others only add theirs.
        turns.compute(sessionId, (id, queue) -> {
            if (queue == null) {
                first[0] = true;
                queue = new java.util.ArrayDeque<>();
            }
            queue.add(task);
            return queue;
        });
        if (first[0]) {
            drain(sessionId);
        }
        return result;
    }

    /**
     * Runs a session's queued updates one after the other, in a loop rather than nested in each
     * other's completion: an update that finishes at once (an in-process store) lets the loop go
     * on, on this thread, with no hand-over to another thread; one that waits for I/O resumes the
     * loop from its completion. After {@value #DRAIN_BUDGET} in a row a pool thread takes over, so
     * no caller runs others' updates for long.
     */
    private void drain(String sessionId) {
        boolean outer = !DRAINING.get();
        DRAINING.set(true);
        try {
            for (int budget = DRAIN_BUDGET; ; budget--) {
                if (budget == 0) {
                    HANDOFF.execute(() -> drain(sessionId));
                    return;
                }
                Supplier<CompletableFuture<?>> task = next(sessionId);
                if (task == null) {
                    return;
                }
                CompletableFuture<?> work = task.get();
                if (!work.isDone()) {
                    var unusedResume = work.whenComplete((value, error) -> resume(sessionId));
                    return;
                }
            }
        } finally {
            if (outer) {
                DRAINING.set(false);
            }
        }
    }

    /** Goes on with a session's queue after an update finished later than it started. */
    private void resume(String sessionId) {
        if (DRAINING.get()) {
            // finished while its drain was still registering this callback: not on this stack
            HANDOFF.execute(() -> drain(sessionId));
        } else {
            drain(sessionId);
        }
    }

    /** The next queued update of a session, or {@code null} (and the queue gone) when there is none. */
    private Supplier<CompletableFuture<?>> next(String sessionId) {
        Object[] next = {null};
        turns.computeIfPresent(sessionId, (id, queue) -> {
            next[0] = queue.poll();
            return next[0] == null ? null : queue;
        });
        @SuppressWarnings("unchecked")
        Supplier<CompletableFuture<?>> task = (Supplier<CompletableFuture<?>>) next[0];
        return task;
    }

    /**
     * Starts {@code body}; whatever it throws (an {@link Error} from a caller's update function
     * included, as a {@code CompletableFuture} stage would) fails its future instead, so a queue's
     * loop always goes on to the next update.
     */
    private static <T> CompletableFuture<T> start(Supplier<CompletableFuture<T>> body) {
        try {
            return body.get();
        } catch (RuntimeException | Error e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private CompletableFuture<Optional<SessionState>> attempt(String sessionId, UnaryOperator<SessionState> change,
            Duration ttl, boolean stampActivity, int attempt, CompletableFuture<?> deadline) {
        if (deadline.isDone()) {
            // the caller has already been told this update ran out of time: do not start (again)
            return CompletableFuture.failedFuture(deadlinePassed(sessionId, "update", true));
        }
        return storage.retrieveSession(sessionId).thenCompose(found -> {
            if (found.isEmpty()) {
                return CompletableFuture.completedFuture(Optional.empty());
            }
            SessionState current = found.get();
            String movedTo = movedTo(current);
            if (movedTo != null && stampActivity) { // a rewrite (key rotation) rewrites a marker as it is
                return CompletableFuture.failedFuture(new SessionMovedException(storage.backendName(), sessionId,
                        movedTo));
            }
            Instant now = clock.instant();
            Duration effectiveTtl = ttl;
            if (effectiveTtl == null) {
                effectiveTtl = current.expiresAt() == null ? config.defaultTtl()
                        : Duration.between(now, current.expiresAt());
                if (effectiveTtl.toMillis() <= 0) {
                    return CompletableFuture.completedFuture(Optional.empty());
                }
            }
            SessionState changed = Objects.requireNonNull(change.apply(current), "change returned null");
            if (!changed.sessionId().equals(sessionId)) {
                throw new IllegalArgumentException("an update must keep the session id " + sessionId
                        + ", but it returned " + changed.sessionId());
            }
            SessionState next = changed.toBuilder()
                    .version(current.version() + 1)
                    .lastActivity(stampActivity ? now : changed.lastActivity())
                    .expiresAt(now.plus(effectiveTtl))
                    .build();
            return settled(storage.replaceSession(next, current.version(), effectiveTtl), next)
                    .thenCompose(replaced -> {
                if (replaced) {
                    observers.updateAttempts(storage.backendName(), attempt, false);
                    return CompletableFuture.completedFuture(Optional.of(next));
                }
                if (attempt >= config.maxUpdateAttempts()) {
                    observers.updateAttempts(storage.backendName(), attempt, true);
                    return CompletableFuture.failedFuture(new SessionConflictException(
                            storage.backendName(), sessionId, attempt));
                }
                return retryLater(sessionId, change, ttl, stampActivity, attempt + 1, deadline);
            });
        });
    }

    private CompletableFuture<Optional<SessionState>> retryLater(String sessionId, UnaryOperator<SessionState> change,
            Duration ttl, boolean stampActivity, int nextAttempt, CompletableFuture<?> deadline) {
        return later(nextAttempt, () -> attempt(sessionId, change, ttl, stampActivity, nextAttempt, deadline));
    }

    /**
     * Runs attempt {@code nextAttempt} of a retried call: at once for the second, then after a
     * random back-off, doubling to at most 128 ms, that spreads contending writers apart so that
     * each gets its turn well within the attempt bound even when writes are slow (fsync).
     */
    private static <T> CompletableFuture<T> later(int nextAttempt, Supplier<CompletableFuture<T>> next) {
        if (nextAttempt <= 2) {
            return next.get();
        }
        long bound = 1L << Math.min(nextAttempt - 2, 7);
        long delayMicros = ThreadLocalRandom.current().nextLong(bound * 1000);
        return CompletableFuture.supplyAsync(() -> null,
                        CompletableFuture.delayedExecutor(delayMicros, TimeUnit.MICROSECONDS, HANDOFF))
                .thenCompose(ignored -> next.get());
    }

    /**
     * The JSON of one update value, checked for shape and limits before anything is sent, so that
     * every wrong value fails the call the same way: an {@link IllegalArgumentException} naming the field.
     */
    private static JsonNode updateValue(String field, Object value) {
        JsonLimits.checkValue(value, field);
        JsonNode node;
        try {
            node = JsonSupport.convert(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("session field '" + field + "': value is not JSON-compatible: "
                    + e.getMessage(), e);
        }
        boolean ok;
        String expected;
        switch (field) {
            case SessionJsonCodec.USER_ID, SessionJsonCodec.PROJECT_ID -> {
                ok = node.isTextual() && !node.textValue().isEmpty();
                expected = "a non-empty string";
            }
            case SessionJsonCodec.PERMISSIONS -> {
                ok = node.isNull() || (node.isArray() && allMatch(node, JsonNode::isTextual));
                expected = "a list of strings";
            }
            case SessionJsonCodec.CONVERSATION_HISTORY -> {
                ok = node.isNull() || (node.isArray() && allMatch(node, JsonNode::isObject));
                expected = "a list of JSON objects (maps)";
            }
            default -> {
                ok = node.isNull() || node.isObject();
                expected = "a JSON object (a map)";
            }
        }
        if (!ok) {
            throw new IllegalArgumentException("session field '" + field + "' must be " + expected + ", was "
                    + describe(node));
        }
        return node;
    }

    private static boolean allMatch(JsonNode array, java.util.function.Predicate<JsonNode> test) {
        for (JsonNode element : array) {
            if (!test.test(element)) {
                return false;
            }
        }
        return true;
    }

    private static String describe(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "a list with an element of another kind";
            case OBJECT -> "a JSON object";
            case NULL -> "null";
            default -> node.getNodeType().toString().toLowerCase(Locale.ROOT);
        };
    }

    /**
     * Settles a compare-and-set whose outcome is unknown (a reset connection or a timeout after the
     * write was sent) by reading the session back: the new version with this very content means
     * the write landed (true); the old version still there means it did not (false: the update
     * retries as after a conflict). Anything else (a newer version on top) cannot be told apart, so
     * the unknown outcome is passed on rather than risk applying the change twice.
     */
    private CompletableFuture<Boolean> settled(CompletableFuture<Boolean> replace, SessionState next) {
        return replace.exceptionallyCompose(error -> {
            Throwable cause = unwrap(error);
            if (!(cause instanceof SessionOutcomeUnknownException)) {
                return CompletableFuture.failedFuture(cause);
            }
            return storage.retrieveSession(next.sessionId()).thenCompose(found -> {
                if (found.isPresent() && found.get().version() == next.version() && sameContent(found.get(), next)) {
                    return CompletableFuture.completedFuture(true);
                }
                if (found.isPresent() && found.get().version() <= next.version()) {
                    return CompletableFuture.completedFuture(false); // not ours: retry like a conflict
                }
                return CompletableFuture.failedFuture(cause);
            });
        });
    }

    private static boolean sameContent(SessionState a, SessionState b) {
        return a.withExpiresAt(null).equals(b.withExpiresAt(null));
    }

    private static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while ((cause instanceof java.util.concurrent.CompletionException
                || cause instanceof java.util.concurrent.ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static SessionState applyFields(SessionState state, Map<String, JsonNode> values) {
        ObjectNode tree = SessionJsonCodec.toTree(state);
        values.forEach(tree::set);
        try {
            return SessionJsonCodec.fromTree(tree);
        } catch (CorruptSessionException e) {
            throw new IllegalArgumentException("update of session " + state.sessionId() + " rejected: "
                    + e.getMessage(), e);
        }
    }
}
