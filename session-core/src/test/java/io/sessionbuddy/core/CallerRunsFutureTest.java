package io.sessionbuddy.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The decoding step of a read runs on the caller that waits for it, or on the pool, and never on
 * the thread that delivered the reply (the I/O thread); and it runs exactly once.
 */
class CallerRunsFutureTest {
    private final ExecutorService pool = Executors.newFixedThreadPool(2, task -> new Thread(task, "test-pool"));
    private final ExecutorService io = Executors.newSingleThreadExecutor(task -> new Thread(task, "test-io"));

    @AfterEach
    void stop() {
        pool.shutdownNow();
        io.shutdownNow();
    }

    /** A reply the "I/O thread" delivers after {@code delayMillis}. */
    private CompletableFuture<String> replyLater(String value, long delayMillis) {
        return CompletableFuture.supplyAsync(() -> {
            sleep(delayMillis);
            return value;
        }, io);
    }

    /** A step that returns its input and notes the thread it ran on. */
    private static java.util.function.Function<String, String> recording(AtomicReference<String> ranOn) {
        return value -> {
            ranOn.set(Thread.currentThread().getName());
            return value;
        };
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aCallerWaitingInJoinRunsTheStepItself() {
        AtomicReference<String> ranOn = new AtomicReference<>();
        CompletableFuture<String> decoded = CallerRunsFuture.afterReply(replyLater("x", 100),
                recording(ranOn).andThen(reply -> reply + "!"), pool);

        assertThat(decoded.join()).isEqualTo("x!");
        assertThat(ranOn.get()).isEqualTo(Thread.currentThread().getName());
    }

    @Test
    void aCallerWaitingOnADerivedOrFollowingFutureRunsTheStepToo() throws Exception {
        AtomicReference<String> ranOn = new AtomicReference<>();
        CompletableFuture<String> decoded = CallerRunsFuture.afterReply(replyLater("x", 100), recording(ranOn), pool);
        CompletableFuture<Integer> derived = decoded.thenApply(String::length).thenCompose(
                n -> CompletableFuture.completedFuture(n + 1));
        CallerRunsFuture<Integer> follower = new CallerRunsFuture<>();
        follower.follow(derived);
        derived.whenComplete((value, error) -> follower.complete(value));

        assertThat(follower.get(5, TimeUnit.SECONDS)).isEqualTo(2);
        assertThat(ranOn.get()).isEqualTo(Thread.currentThread().getName());
    }

    @Test
    void withNobodyWaitingThePoolRunsTheStepNeverTheIoThread() {
        AtomicReference<String> ranOn = new AtomicReference<>();
        CompletableFuture<String> reply = replyLater("x", 0);
        CompletableFuture<String> decoded = CallerRunsFuture.afterReply(reply, recording(ranOn), pool);
        reply.join();
        sleep(200); // the step has run by now, without anyone waiting

        assertThat(decoded).isDone();
        assertThat(ranOn.get()).isEqualTo("test-pool");
    }

    @Test
    void aFailedReplyFailsTheResultWithoutRunningTheStep() {
        AtomicInteger runs = new AtomicInteger();
        CompletableFuture<String> reply = new CompletableFuture<>();
        CompletableFuture<String> decoded = CallerRunsFuture.afterReply(reply, value -> {
            runs.incrementAndGet();
            return value;
        }, pool);
        io.execute(() -> {
            sleep(50);
            reply.completeExceptionally(new IllegalStateException("connection reset"));
        });

        assertThatThrownBy(decoded::join).isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(IllegalStateException.class);
        assertThat(runs).hasValue(0);
    }

    @Test
    void aStepThatThrowsFailsTheResult() {
        CompletableFuture<String> decoded = CallerRunsFuture.afterReply(replyLater("x", 20), value -> {
            throw new CorruptSessionException("test", "id", "bad record", null);
        }, pool);

        assertThatThrownBy(decoded::join).hasCauseInstanceOf(CorruptSessionException.class);
    }

    @Test
    void aCallerThatGivesUpLeavesTheStepToThePool() throws Exception {
        AtomicReference<String> ranOn = new AtomicReference<>();
        CompletableFuture<String> decoded = CallerRunsFuture.afterReply(replyLater("x", 300), recording(ranOn), pool);

        assertThatThrownBy(() -> decoded.get(50, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
        Thread.currentThread().interrupt();
        assertThatThrownBy(decoded::get).isInstanceOf(InterruptedException.class);
        Thread.interrupted();
        sleep(600);

        assertThat(decoded).isCompletedWithValue("x");
        assertThat(ranOn.get()).isEqualTo("test-pool");
    }

    @Test
    void everyStepRunsExactlyOnceWhateverTheTiming() throws Exception {
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            AtomicInteger runs = new AtomicInteger();
            int n = 5_000;
            CompletableFuture<?>[] done = new CompletableFuture<?>[n];
            for (int i = 0; i < n; i++) {
                CompletableFuture<Integer> reply = new CompletableFuture<>();
                int value = i;
                CompletableFuture<Integer> decoded = CallerRunsFuture.afterReply(reply, v -> {
                    runs.incrementAndGet();
                    return v;
                }, pool);
                io.execute(() -> reply.complete(value));
                done[i] = i % 3 == 0 ? decoded // nobody waits for a third of them
                        : CompletableFuture.supplyAsync(() -> {
                            try {
                                return value % 2 == 0 ? decoded.join() : decoded.get(5, TimeUnit.SECONDS);
                            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                                throw new IllegalStateException(e);
                            }
                        }, callers);
            }
            CompletableFuture.allOf(done).get(30, TimeUnit.SECONDS);
            sleep(100);

            assertThat(runs).hasValue(n);
        } finally {
            callers.shutdownNow();
        }
    }
}
