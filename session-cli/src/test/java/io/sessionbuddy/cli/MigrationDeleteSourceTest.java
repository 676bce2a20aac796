package io.sessionbuddy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.file.FileSessionStorage;
import io.sessionbuddy.memory.MemorySessionStorage;
import io.sessionbuddy.spi.ForwardingSessionStorage;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --delete-source deletes only what is unchanged since its copy. */
class MigrationDeleteSourceTest {
    @TempDir
    Path directory;

    @Test
    void aSessionUpdatedInTheSourceAfterItsCopyIsKeptAndReported() {
        try (FileSessionStorage file = FileSessionStorage.builder(directory).build();
                MemorySessionStorage target = MemorySessionStorage.builder().build()) {
            SessionManager sourceApp = new SessionManager(file);
            String hot = sourceApp.createSession("u", "p", Map.of("n", 1), null).join();
            String cold = sourceApp.createSession("u", "p", Map.of("n", 1), null).join();
            AtomicBoolean updated = new AtomicBoolean();
            // the old application updates "hot" right after the migration read it for its copy
            SessionStorage source = new ForwardingSessionStorage(file) {
                @Override
                public CompletableFuture<Optional<SessionState>> retrieveSession(String id) {
                    return super.retrieveSession(id).thenApply(found -> {
                        if (id.equals(hot) && updated.compareAndSet(false, true)) {
                            sourceApp.updateSession(hot, Map.of("metadata", Map.of("n", 2)), null).join();
                        }
                        return found;
                    });
                }
            };
            Migration.Summary summary = new Migration(source, target, Duration.ofHours(1), Clock.systemUTC())
                    .run(false, true, new Migration.Progress() {
                        @Override
                        public void update(Migration.Counts counts, int total, Duration elapsed) {
                        }

                        @Override
                        public void finish(Migration.Counts counts, int total, Duration elapsed) {
                        }
                    });

            assertThat(summary.deletedFromSource()).isEqualTo(1);
            assertThat(summary.failures()).containsOnlyKeys(hot);
            assertThat(summary.failures().get(hot)).contains("changed in the source after it was copied");
            assertThat(file.retrieveSession(cold).join()).isEmpty();
            assertThat(file.retrieveSession(hot).join().orElseThrow().metadata().get("n").asInt()).isEqualTo(2);
        }
    }
}
