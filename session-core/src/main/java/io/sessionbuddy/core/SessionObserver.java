package io.sessionbuddy.core;

/**
 * Receives what the store does, for metrics and tracing (the {@code session-micrometer} module
 * implements it with Micrometer). Added with {@link SessionStorage#addObserver} and
 * {@link SessionManager#addObserver}; {@code SessionBuddy.observe} adds one to both.
 *
 * <p>Calls come on the thread that completes the operation, I/O threads included: an implementation
 * must be fast, must not block and must not throw (a throwing observer is logged and otherwise
 * ignored). Nothing passed to an observer holds session contents; session, user and project ids are
 * passed only to {@link #sessionExpired}, never as part of an operation's description, so that
 * metrics built from the other calls have bounded cardinality.
 */
public interface SessionObserver {
    /** The operations observed, as named in metrics and spans. */
    enum Operation {
        /** {@code storeSession}. */
        STORE,
        /** {@code retrieveSession}. */
        RETRIEVE,
        /** {@code replaceSession} (compare-and-set). */
        REPLACE,
        /** {@code deleteSession}. */
        DELETE,
        /** {@code listSessions} and {@code listStoredSessionIds}. */
        LIST,
        /** {@code cleanupExpiredSessions}. */
        CLEANUP,
        /** {@code touchSession}: a new expiry without rewriting the session. */
        TOUCH,
        /** The manager's {@code updateSession} (every attempt and retry of one update). */
        UPDATE;

        private final String tag = name().toLowerCase(java.util.Locale.ROOT);

        /**
         * The lower-case name used as a tag value, e.g. {@code retrieve}.
         *
         * @return the lower-case name used as a tag value, e.g. {@code retrieve}
         */
        public String tag() {
            return tag;
        }
    }

    /** How an operation ended, as named in metrics and spans. */
    enum Outcome {
        /** Done as asked. */
        SUCCESS,
        /** The session was absent or expired (a retrieve, delete, replace or update found nothing). */
        NOT_FOUND,
        /** A compare-and-set found another version ({@code replace}), or an update gave up. */
        CONFLICT,
        /** A stored record could not be decoded ({@link CorruptSessionException}). */
        CORRUPT,
        /** A session over the size limit ({@link SessionTooLargeException}). */
        TOO_LARGE,
        /** The store could not be reached or failed ({@link SessionStorageException}). */
        UNAVAILABLE,
        /** A write may or may not have landed ({@link SessionOutcomeUnknownException}). */
        UNKNOWN_OUTCOME;

        private final String tag = name().toLowerCase(java.util.Locale.ROOT);

        /**
         * The lower-case name used as a tag value, e.g. {@code not_found}.
         *
         * @return the lower-case name used as a tag value, e.g. {@code not_found}
         */
        public String tag() {
            return tag;
        }

        /**
         * The outcome of an operation that completed with {@code value} or failed with {@code error}:
         * an empty {@link java.util.Optional} is {@link #NOT_FOUND}; {@code false} is
         * {@link #CONFLICT} for {@code replace} and {@link #NOT_FOUND} for {@code delete}.
         *
         * @param operation the operation
         * @param value what it completed with, or {@code null}
         * @param error what it failed with, or {@code null}
         * @return the outcome
         */
        public static Outcome of(Operation operation, Object value, Throwable error) {
            if (error != null) {
                Throwable cause = error;
                while ((cause instanceof java.util.concurrent.CompletionException
                        || cause instanceof java.util.concurrent.ExecutionException) && cause.getCause() != null) {
                    cause = cause.getCause();
                }
                if (cause instanceof SessionConflictException) {
                    return CONFLICT;
                }
                if (cause instanceof CorruptSessionException) {
                    return CORRUPT;
                }
                if (cause instanceof SessionTooLargeException) {
                    return TOO_LARGE;
                }
                if (cause instanceof SessionOutcomeUnknownException) {
                    return UNKNOWN_OUTCOME;
                }
                return UNAVAILABLE;
            }
            if (value instanceof java.util.Optional<?> found && found.isEmpty()) {
                return NOT_FOUND;
            }
            if (Boolean.FALSE.equals(value)) {
                return operation == Operation.REPLACE ? CONFLICT : NOT_FOUND;
            }
            return SUCCESS;
        }
    }

    /** Told once how an operation ended. */
    interface Timing {
        /** A timing that does nothing. */
        Timing NONE = (outcome, error) -> { };

        /**
         * The operation ended.
         *
         * @param error the failure, or {@code null}
         * @param outcome how it ended
         */
        void stop(Outcome outcome, Throwable error);
    }

    /**
     * An operation starts; the returned timing is stopped exactly once when it ends.
     *
     * @param backend the provider name, e.g. {@code redis}
     * @param operation what starts
     * @return the timing to stop, {@link Timing#NONE} when not timed
     */
    default Timing start(String backend, Operation operation) {
        return Timing.NONE;
    }

    /**
     * An update ended after {@code attempts} reads and compare-and-sets ({@code attempts - 1}
     * conflicts and retries).
     *
     * @param backend the provider name
     * @param attempts reads and compare-and-sets made, at least 1
     * @param gaveUp whether it failed with {@link SessionConflictException} after the last attempt
     */
    default void updateAttempts(String backend, int attempts, boolean gaveUp) {
    }

    /**
     * A stored record could not be decoded.
     *
     * @param backend the provider name
     * @param reason why
     */
    default void damagedRecord(String backend, CorruptSessionException.Reason reason) {
    }

    /**
     * A record was encoded for writing.
     *
     * @param backend the provider name
     * @param jsonBytes the session's JSON size
     * @param recordBytes the stored record's size (compressed and encrypted as configured)
     */
    default void recordEncoded(String backend, int jsonBytes, int recordBytes) {
    }

    /**
     * A cleanup finished.
     *
     * @param backend the provider name
     * @param sessions the expired sessions it removed
     */
    default void cleanedUp(String backend, int sessions) {
    }

    /**
     * A cleanup (or a listing's lazy repair) repaired index entries: stale, moved or missing ones.
     *
     * @param backend the provider name
     * @param entries how many
     */
    default void indexRepaired(String backend, int entries) {
    }

    /**
     * The store found session {@code sessionId} expired and removed it (cleanup's sweep, or an
     * in-process cache's eviction). At most once per session and store, as far as the store can tell.
     *
     * @param backend the provider name
     * @param sessionId the session
     * @param userId the owner, or {@code null} when the store does not know it without decoding
     * @param projectId the project, or {@code null} likewise
     */
    default void sessionExpired(String backend, String sessionId, String userId, String projectId) {
    }

    /**
     * A session listener failed ({@link SessionListener}); it was logged.
     *
     * @param backend the provider name of the manager's store
     */
    default void listenerFailed(String backend) {
    }

    /**
     * A session event was dropped because the listeners' queue was full; it was logged.
     *
     * @param backend the provider name of the manager's store
     */
    default void eventDropped(String backend) {
    }
}
