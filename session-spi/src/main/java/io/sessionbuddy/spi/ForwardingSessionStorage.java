package io.sessionbuddy.spi;

import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link SessionStorage} that forwards every call to another: the base of decorators (counting,
 * metrics, fault injection in tests), which override only what they watch or change. Writes arrive
 * through {@code storeSession}, {@code storeNewSession} (the manager's creates), {@code replaceSession},
 * {@code moveSession} and {@code touchSession}: a decorator that watches writes overrides each it needs.
 */
public class ForwardingSessionStorage implements SessionStorage {
    private final SessionStorage delegate;

    /**
     * Forwards to {@code delegate}.
     *
     * @param delegate the storage every call goes to
     */
    public ForwardingSessionStorage(SessionStorage delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /**
     * The storage calls are forwarded to.
     *
     * @return the delegate
     */
    protected final SessionStorage delegate() {
        return delegate;
    }

    @Override
    public CompletableFuture<Boolean> storeSession(SessionState state, Duration ttl) {
        return delegate.storeSession(state, ttl);
    }

    @Override
    public CompletableFuture<Boolean> storeNewSession(SessionState state, Duration ttl) {
        return delegate.storeNewSession(state, ttl);
    }

    @Override
    public CompletableFuture<Optional<SessionState>> retrieveSession(String sessionId) {
        return delegate.retrieveSession(sessionId);
    }

    @Override
    public CompletableFuture<Optional<SessionState>> retrieveSession(String sessionId, Duration ttl) {
        return delegate.retrieveSession(sessionId, ttl);
    }

    @Override
    public CompletableFuture<java.util.Map<String, SessionState>> retrieveSessions(java.util.Collection<String> ids) {
        return delegate.retrieveSessions(ids);
    }

    @Override
    public CompletableFuture<io.sessionbuddy.core.SessionPage> listSessions(String userId, String projectId,
            String cursor, int limit) {
        return delegate.listSessions(userId, projectId, cursor, limit);
    }

    @Override
    public CompletableFuture<Boolean> moveSession(SessionState copy, Duration ttl, SessionState marker,
            long expectedVersion, Duration markerTtl) {
        return delegate.moveSession(copy, ttl, marker, expectedVersion, markerTtl);
    }

    @Override
    public CompletableFuture<Boolean> touchSession(String sessionId, Duration ttl) {
        return delegate.touchSession(sessionId, ttl);
    }

    @Override
    public CompletableFuture<Boolean> deleteSession(String sessionId) {
        return delegate.deleteSession(sessionId);
    }

    @Override
    public CompletableFuture<List<String>> listSessions(String userId, String projectId) {
        return delegate.listSessions(userId, projectId);
    }

    @Override
    public CompletableFuture<List<String>> listStoredSessionIds() {
        return delegate.listStoredSessionIds();
    }

    @Override
    public String backendName() {
        return delegate.backendName();
    }

    @Override
    public Duration timeout() {
        return delegate.timeout();
    }

    @Override
    public CompletableFuture<Integer> cleanupExpiredSessions() {
        return delegate.cleanupExpiredSessions();
    }

    @Override
    public CompletableFuture<Boolean> isAvailable() {
        return delegate.isAvailable();
    }

    @Override
    public CompletableFuture<Boolean> replaceSession(SessionState state, long expectedVersion, Duration ttl) {
        return delegate.replaceSession(state, expectedVersion, ttl);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
