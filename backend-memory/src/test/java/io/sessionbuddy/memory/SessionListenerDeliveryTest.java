package io.sessionbuddy.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionEvent;
import io.sessionbuddy.core.SessionListener;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionObserver;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A slow listener never holds up a session call; past the queue's bound, events are dropped and counted. */
class SessionListenerDeliveryTest {
    @Test
    @Timeout(60)
    void aBlockedListenerNeitherBlocksCallsNorGrowsMemoryWithoutBound() throws Exception {
        try (MemorySessionStorage storage = MemorySessionStorage.builder().build()) {
            SessionManager manager = new SessionManager(storage);
            CountDownLatch release = new CountDownLatch(1);
            AtomicInteger delivered = new AtomicInteger();
            AtomicInteger dropped = new AtomicInteger();
            manager.addObserver(new SessionObserver() {
                @Override
                public void eventDropped(String backend) {
                    dropped.incrementAndGet();
                }
            });
            manager.addListener(new SessionListener() {
                @Override
                public void sessionCreated(SessionEvent event) {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    delivered.incrementAndGet();
                }
            });
            long start = System.nanoTime();
            int calls = 10_500;
            for (int i = 0; i < calls; i++) {
                manager.createSession("u", "p").get(5, TimeUnit.SECONDS);
            }
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).as("calls did not wait").isLessThan(30);
            // one in the listener, 10,000 queued, the rest dropped
            assertThat(dropped.get()).isBetween(calls - 10_001 - 1, calls - 10_000);
            release.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (delivered.get() < calls - dropped.get() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(delivered.get()).isEqualTo(calls - dropped.get());
        }
    }
}
