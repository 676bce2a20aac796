package io.sessionbuddy.core;

/**
 * Told what happened to sessions: created, updated, deleted, expired. Registered with
 * {@link SessionManager#addListener} ({@code SessionBuddy.addListener}, or bound in Guice).
 *
 * <p>Events are delivered after the write was acknowledged by the store, in order per manager, on
 * one thread of the manager's own ({@code session-buddy-events}), never on an I/O thread or the
 * caller's. A listener that is slow delays only later events: session calls never wait for
 * listeners; when 10,000 events are waiting, further ones are dropped, logged and counted
 * ({@link SessionObserver#eventDropped}). A listener that throws is logged and counted
 * ({@link SessionObserver#listenerFailed}) and the others still get the event.
 *
 * <p>Created, updated and deleted events are local: they come from this manager's own calls.
 * Expired events come from the expiry the store itself tracks (a cleanup's sweep, see
 * {@link SessionManager#cleanupSessions()}; the memory backend's eviction), not from Redis keyspace
 * notifications, so they work on any Redis, in Redis Cluster, on files and on S3; with several
 * instances, each expired session is reported by the instance whose cleanup removed it.
 */
public interface SessionListener {
    /**
     * A session was created by this manager.
     *
     * @param event what happened
     */
    default void sessionCreated(SessionEvent event) {
    }

    /**
     * A session was changed by this manager (update, touch).
     *
     * @param event what happened
     */
    default void sessionUpdated(SessionEvent event) {
    }

    /**
     * A session was deleted by this manager.
     *
     * @param event what happened
     */
    default void sessionDeleted(SessionEvent event) {
    }

    /**
     * The store removed an expired session.
     *
     * @param event what happened
     */
    default void sessionExpired(SessionEvent event) {
    }

    /**
     * Calls the method of {@code listener} that matches the event's type.
     *
     * @param listener the listener
     * @param event the event
     */
    static void deliver(SessionListener listener, SessionEvent event) {
        switch (event.type()) {
            case CREATED -> listener.sessionCreated(event);
            case UPDATED -> listener.sessionUpdated(event);
            case DELETED -> listener.sessionDeleted(event);
            case EXPIRED -> listener.sessionExpired(event);
            default -> throw new IllegalStateException("unknown event type " + event.type());
        }
    }
}
