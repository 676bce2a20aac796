package io.sessionbuddy.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** The base class's own rules, on a backend that fails in every way a backend can. */
class AbstractSessionStorageTest {
    /** A backend whose every operation fails from the inside. */
    private static final class Broken extends AbstractSessionStorage {
        Broken() {
            super("broken", Duration.ofHours(1), Clock.systemUTC());
        }

        @Override
        protected CompletableFuture<Void> doStore(SessionState state, byte[] record, Duration ttl) {
            throw new IllegalArgumentException("bad internal argument");
        }

        @Override
        protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
            return CompletableFuture.failedFuture(new NullPointerException("field p was null"));
        }

        @Override
        protected CompletableFuture<Boolean> doDelete(String sessionId) {
            throw new NumberFormatException("For input string: \"soon\"");
        }

        @Override
        protected CompletableFuture<List<String>> doList(String userId, String projectId) {
            return CompletableFuture.completedFuture(List.of());
        }

        @Override
        protected CompletableFuture<Integer> doCleanup() {
            return CompletableFuture.completedFuture(0);
        }

        @Override
        protected CompletableFuture<Boolean> doPing() {
            return CompletableFuture.completedFuture(true);
        }

        @Override
        protected CompletableFuture<Boolean> doReplace(SessionState state, byte[] record, long expectedVersion,
                Duration ttl) {
            return CompletableFuture.completedFuture(false);
        }

        @Override
        protected void doClose() {
        }
    }

    private static Throwable failure(CompletableFuture<?> future) {
        Throwable thrown = catchThrowable(future::join);
        return thrown instanceof CompletionException ? thrown.getCause() : thrown;
    }

    @Test
    void failuresFromInsideABackendAreStorageErrorsNamingTheProviderNotCallerErrors() {
        try (Broken storage = new Broken()) {
            SessionState state = SessionState.builder("s1", "u", "p").build();
            for (Throwable failure : List.of(failure(storage.storeSession(state, null)),
                    failure(storage.retrieveSession("s1")), failure(storage.deleteSession("s1")))) {
                assertThat(failure).isInstanceOf(SessionStorageException.class)
                        .hasMessageStartingWith("[broken]").hasMessageContaining("s1");
            }
        }
    }

    @Test
    void theBootstrapRefusesAProviderThatDropsTheConfiguredStoredFormat() {
        StorageProvider forgetful = new StorageProvider() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public io.sessionbuddy.core.SessionStorage create(BackendSettings settings) {
                return new Broken(); // written as the README's step 3 once showed: no storedFormat()
            }
        };
        io.sessionbuddy.core.SessionBuddyConfig config = new io.sessionbuddy.core.config.ConfigLoader(java.util.Map.of(),
                java.util.Map.of()).fromMap(java.util.Map.of("storage_backend", "broken", "encryption_keys",
                java.util.Map.of("k1", "base64:" + java.util.Base64.getEncoder().encodeToString(new byte[32]))),
                "<test>");

        Throwable refused = catchThrowable(() -> SessionBuddy.open(config, java.util.Map.of("broken", forgetful),
                Clock.systemUTC()));

        assertThat(refused).isInstanceOf(io.sessionbuddy.core.SessionConfigException.class)
                .hasMessageContaining("storage provider 'broken'").hasMessageContaining("settings.storedFormat()");
    }
}
