package io.sessionbuddy.core;

import java.time.Instant;
import java.util.Objects;

/**
 * What happened to a session, for {@link SessionListener}s.
 *
 * @param type what happened
 * @param sessionId the session
 * @param userId its owner; {@code null} for an expired session when the store does not know it
 *     without decoding the record (see the README's table of expired events per backend)
 * @param projectId its project; {@code null} likewise
 * @param version the version written (created, updated); {@code -1} when not known (deleted, expired)
 * @param backend the provider name of the store
 * @param at when the manager saw it happen (for an event from a Redis event stream: when the
 *     write appended it, in Redis's clock)
 * @param streamId the event's id in the Redis event stream it was read from (unique, for consumers
 *     that deduplicate at-least-once deliveries; in Redis Cluster {@code <slot>:<entry id>}, as entry
 *     ids are unique only within one slot's stream); {@code null} for local events
 */
public record SessionEvent(Type type, String sessionId, String userId, String projectId, long version,
        String backend, Instant at, String streamId) {
    /** What happened. */
    public enum Type {
        /** Created by {@code createSession}. */
        CREATED,
        /** Changed by {@code updateSession} or {@code touch}. */
        UPDATED,
        /** Deleted by {@code deleteSession}. */
        DELETED,
        /** Removed by the store after it expired. */
        EXPIRED
    }

    /**
     * Checks the required fields.
     *
     * @param type what happened
     * @param sessionId the session
     * @param userId its user, or {@code null} when not known
     * @param projectId its project, or {@code null} when not known
     * @param version its version after the change, or -1 when not known
     * @param backend the backend's provider name
     * @param at when it happened
     * @param streamId the Redis Stream entry id of an event read from the stream (in Redis Cluster
     *     {@code <slot>:<entry id>}), else {@code null}
     */
    public SessionEvent {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(at, "at");
    }
}
