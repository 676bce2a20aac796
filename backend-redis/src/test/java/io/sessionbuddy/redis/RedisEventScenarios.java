package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionEvent;
import io.sessionbuddy.core.SessionListener;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.testkit.RecordingListener;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Cross-instance event scenarios run alike on standalone Redis and on Redis Cluster. */
final class RedisEventScenarios {
    private RedisEventScenarios() {
    }

    /** Starts a consumer of one group under a name, with the given listener. */
    @FunctionalInterface
    interface Starter {
        RedisSessionEventConsumer start(String name, SessionListener listener) throws InterruptedException;
    }

    static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /**
     * Runs {@link RedisEventWriterMain} in another JVM.
     *
     * @param target its first argument: a port, or {@code cluster:<port>,...}
     * @return the ids it created, in order
     */
    static List<String> runWriter(String target, String namespace, int count) throws Exception {
        Process writer = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), RedisEventWriterMain.class.getName(), target, namespace,
                Integer.toString(count)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> ids = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                if (line.matches("[0-9a-f]{32}")) {
                    ids.add(line);
                }
            }
        }
        assertThat(writer.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(writer.exitValue()).isZero();
        assertThat(ids).hasSize(count);
        return ids;
    }

    /**
     * Checks what a consumer got from a {@link #runWriter} of 20 sessions: 20 created, 20 updated,
     * 4 deleted, none for the failed compare-and-set, each with its write's facts and its own stream id.
     */
    static void assertWriterEvents(List<String> ids, Collection<SessionEvent> events) {
        assertThat(events).hasSize(44);
        for (int i = 0; i < ids.size(); i++) {
            String id = ids.get(i);
            List<SessionEvent> mine = events.stream().filter(e -> e.sessionId().equals(id)).toList();
            assertThat(mine).extracting(SessionEvent::type).as(id).containsExactlyElementsOf(i < 4
                    ? List.of(SessionEvent.Type.CREATED, SessionEvent.Type.UPDATED, SessionEvent.Type.DELETED)
                    : List.of(SessionEvent.Type.CREATED, SessionEvent.Type.UPDATED));
            assertThat(mine.get(0).userId()).isEqualTo("writer-user-" + (i % 3));
            assertThat(mine.get(0).projectId()).isEqualTo("writer-project");
            assertThat(mine.get(0).version()).isEqualTo(1);
            assertThat(mine.get(1).version()).isEqualTo(2);
            assertThat(mine.get(0).backend()).isEqualTo("redis");
        }
        assertThat(events.stream().map(SessionEvent::streamId).distinct()).as("stream ids").hasSize(44);
    }

    /**
     * A consumer that hangs in its listener (as good as dead, its events unacknowledged) while
     * sessions are created; a second consumer of the group takes its events over, its listener
     * failing once; started again under its name it gets the failed event: every event delivered.
     */
    static void aDeadConsumersEventsAndAFailedOneReachTheGroup(SessionManager manager, Starter group)
            throws InterruptedException {
        CountDownLatch hang = new CountDownLatch(1);
        RedisSessionEventConsumer dead = group.start("w-dead", new SessionListener() {
            @Override
            public void sessionCreated(SessionEvent event) {
                try {
                    hang.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IllegalStateException("died");
            }
        });
        Set<String> created = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < 10; i++) {
            created.add(manager.createSession("u", "p").join());
        }
        Thread.sleep(500); // the dead consumer has read (and holds) what it read

        RecordingListener survivor = new RecordingListener();
        Set<String> failedOnce = ConcurrentHashMap.newKeySet();
        SessionListener flaky = new SessionListener() {
            @Override
            public void sessionCreated(SessionEvent event) {
                if (failedOnce.isEmpty() && failedOnce.add(event.sessionId())) {
                    throw new IllegalStateException("the listener's own bug, once");
                }
                survivor.sessionCreated(event);
            }
        };
        RedisSessionEventConsumer second = group.start("w-2", flaky);
        await(() -> survivor.events.size() >= 9, "9 events taken over from the dead consumer");
        second.close();
        // started again under its name, the worker reads its pending event (the one its listener failed on)
        RedisSessionEventConsumer again = group.start("w-2", flaky);
        await(() -> survivor.events.size() >= 10, "the failed event again");
        Set<String> seen = ConcurrentHashMap.newKeySet();
        survivor.events.forEach(e -> seen.add(e.sessionId()));
        assertThat(seen).as("no event lost").isEqualTo(created);
        again.close();
        hang.countDown();
        dead.close();
    }

    /**
     * A session of {@code exp-user} created through {@code first} expires; both storages clean up
     * at once: exactly one reports it, and the consumer behind {@code recording} gets its created
     * and expired events, nothing else.
     *
     * @return the expired event
     */
    static SessionEvent expiredOnceWhateverTheNumberOfCleaners(RedisSessionStorage first, RedisSessionStorage second,
            RecordingListener recording) throws InterruptedException {
        String shortLived = new SessionManager(first).createSession("exp-user", "p", null, Duration.ofMillis(300))
                .join();
        Thread.sleep(800);
        var a = first.cleanupExpiredSessions();
        var b = second.cleanupExpiredSessions();
        assertThat(a.join() + b.join()).isEqualTo(1);
        await(() -> recording.events.size() >= 2, "created and expired");
        Thread.sleep(300);
        assertThat(recording.events).extracting(SessionEvent::type)
                .containsExactly(SessionEvent.Type.CREATED, SessionEvent.Type.EXPIRED);
        SessionEvent expired = List.copyOf(recording.events).get(1);
        assertThat(expired.sessionId()).isEqualTo(shortLived);
        assertThat(expired.userId()).isEqualTo("exp-user");
        return expired;
    }
}
