package io.sessionbuddy.guice;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.inject.Guice;
import com.google.inject.Injector;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.spi.SessionBuddy;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The README's quick start, run as written: no config, memory backend, with and without Guice. */
class QuickStartTest {

    @Test
    void withoutGuice() {
        try (SessionBuddy buddy = SessionBuddy.open(SessionBuddyConfig.defaults())) {
            exercise(buddy.manager());
        }
    }

    @Test
    void withoutAnyConfigAtAll() {
        try (SessionBuddy buddy = SessionBuddy.open()) {
            assertThat(buddy.config().storageBackend()).isEqualTo("memory");
            exercise(buddy.manager());
        }
    }

    @Test
    void withGuice() {
        Injector injector = Guice.createInjector(new SessionBuddyModule(SessionBuddyConfig.defaults()));
        try (SessionBuddy buddy = injector.getInstance(SessionBuddy.class)) {
            SessionManager sessions = injector.getInstance(SessionManager.class);
            assertThat(sessions).isSameAs(buddy.manager());
            exercise(sessions);
        }
    }

    @Test
    void listenersBoundInGuiceHearTheStoresEvents() throws Exception {
        java.util.concurrent.BlockingQueue<io.sessionbuddy.core.SessionEvent> events =
                new java.util.concurrent.LinkedBlockingQueue<>();
        io.sessionbuddy.core.SessionListener listener = new io.sessionbuddy.core.SessionListener() {
            @Override
            public void sessionCreated(io.sessionbuddy.core.SessionEvent event) {
                events.add(event);
            }
        };
        Injector injector = Guice.createInjector(new SessionBuddyModule(SessionBuddyConfig.defaults()),
                binder -> com.google.inject.multibindings.Multibinder.newSetBinder(binder,
                        io.sessionbuddy.core.SessionListener.class).addBinding().toInstance(listener));
        try (SessionBuddy buddy = injector.getInstance(SessionBuddy.class)) {
            String id = buddy.manager().createSession("alice", "demo").join();
            io.sessionbuddy.core.SessionEvent event = events.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(event).isNotNull();
            assertThat(event.sessionId()).isEqualTo(id);
            assertThat(event.type()).isEqualTo(io.sessionbuddy.core.SessionEvent.Type.CREATED);
        }
    }

    private static void exercise(SessionManager sessions) {
        String id = sessions.createSession("alice", "demo", Map.of("theme", "dark"), null).join();
        String other = sessions.createSession("bob", "demo").join();

        CompletableFuture<?>[] updates = IntStream.range(0, 50)
                .mapToObj(i -> CompletableFuture.runAsync(() -> sessions.updateSession(id, s -> s.toBuilder()
                        .permissions(append(s.permissions(), "p" + i)).build()).join()))
                .toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(updates).join();

        SessionState state = sessions.getSession(id).join().orElseThrow();
        assertThat(state.permissions()).hasSize(50);
        assertThat(state.metadata().get("theme").asText()).isEqualTo("dark");
        sessions.updateSession(id, s -> s.toBuilder().putMetadata("theme", "light").build()).join();
        SessionState light = sessions.getSession(id).join().orElseThrow();
        assertThat(light.metadata().get("theme").asText()).isEqualTo("light");
        assertThat(light.permissions()).isEqualTo(state.permissions());
        assertThat(sessions.listUserSessions("alice").join()).containsExactly(id);
        assertThat(sessions.listProjectSessions("demo").join()).containsExactlyInAnyOrder(id, other);
        assertThat(sessions.stats().join()).containsEntry("storage_backend", "memory").containsEntry("available", true);

        assertThat(sessions.deleteSession(id).join()).isTrue();
        assertThat(sessions.getSession(id).join()).isEmpty();
    }

    private static List<String> append(List<String> list, String item) {
        return java.util.stream.Stream.concat(list.stream(), java.util.stream.Stream.of(item)).toList();
    }
}
