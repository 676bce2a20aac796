package io.sessionbuddy.memory;

import io.sessionbuddy.core.SessionObserver;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.testkit.SessionStorageContract;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The whole contract against a storage that implements only the abstract methods of
 * {@link SessionStorage} (as a backend written without the SPI's base class would): every default
 * method of the port (touch, bulk reads, paged listing, moves, reads that refresh the expiry)
 * must keep the contract on its own. Observers are forwarded too: a storage that does not take
 * them reports nothing to them, as the port documents, and could not pass the observer tests.
 */
class PortDefaultsContractTest extends SessionStorageContract {
    @Override
    protected SessionStorage createStorage(Clock clock, StoredFormat format) {
        return new AbstractMethodsOnly(MemorySessionStorage.builder().clock(clock).storedFormat(format).build());
    }

    /** Forwards the port's abstract methods and observers only; everything else is the interface's default. */
    private static final class AbstractMethodsOnly implements SessionStorage {
        private final SessionStorage delegate;

        AbstractMethodsOnly(SessionStorage delegate) {
            this.delegate = delegate;
        }

        @Override
        public CompletableFuture<Boolean> storeSession(SessionState state, Duration ttl) {
            return delegate.storeSession(state, ttl);
        }

        @Override
        public CompletableFuture<Optional<SessionState>> retrieveSession(String sessionId) {
            return delegate.retrieveSession(sessionId);
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
        public boolean addObserver(SessionObserver observer) {
            return delegate.addObserver(observer);
        }

        @Override
        public boolean removeObserver(SessionObserver observer) {
            return delegate.removeObserver(observer);
        }

        @Override
        public void close() {
            delegate.close();
        }
    }
}
