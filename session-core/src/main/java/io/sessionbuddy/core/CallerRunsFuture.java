package io.sessionbuddy.core;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * A future whose last step (decoding a reply) runs on the thread that wants the result: a thread
 * blocked in {@link #join()} or {@link #get()} on it, or on any future derived from it, runs the
 * step itself as soon as the reply is in; when nobody is waiting, a pool thread runs it. Either
 * way it never runs on the I/O thread that delivered the reply, and a caller that waits
 * synchronously pays one thread wake-up (the I/O thread waking it), as with a raw client, instead
 * of two (I/O thread to pool, pool to caller).
 *
 * <p>Futures made from this one ({@code thenApply}, {@code thenCompose}, ...) are of this class
 * too and help the same step when joined. A future that only {@linkplain #follow follows} another
 * helps that one's step. For backends: see {@code AbstractSessionStorage}; applications see an
 * ordinary {@link CompletableFuture}.
 *
 * @param <T> the result type
 */
public final class CallerRunsFuture<T> extends CompletableFuture<T> {
    /**
     * Where a waiter looks for the step: the future this one was made from, or follows; none for a
     * root, which has the step itself. Resolved when a thread waits, since a follower learns what
     * it follows only once that exists.
     */
    private volatile CallerRunsFuture<?> source;
    // only in a root:
    private final Executor pool;
    private final CompletableFuture<Void> arrived;
    private final AtomicReference<Runnable> pending;
    private final AtomicInteger waiters;

    private CallerRunsFuture(CallerRunsFuture<?> source, Executor pool) {
        this.source = source;
        this.pool = pool;
        boolean isRoot = pool != null;
        this.arrived = isRoot ? new CompletableFuture<>() : null;
        this.pending = isRoot ? new AtomicReference<>() : null;
        this.waiters = isRoot ? new AtomicInteger() : null;
    }

    /** A future that follows no step yet; see {@link #follow}. */
    public CallerRunsFuture() {
        this(null, null);
    }

    /**
     * {@code step} applied to {@code reply}'s result, on a waiting caller's thread or on
     * {@code pool}; a failed reply fails the result with the same exception.
     *
     * @param <R> the reply's type
     * @param <T> the result's type
     * @param reply the reply an I/O thread completes
     * @param step what turns the reply into the result
     * @param pool where the step runs when nobody waits
     * @return the result's future
     */
    public static <R, T> CallerRunsFuture<T> afterReply(CompletableFuture<R> reply,
            Function<? super R, ? extends T> step, Executor pool) {
        CallerRunsFuture<T> future = new CallerRunsFuture<>(null, pool);
        var unused = reply.whenComplete((value, error) -> {
            if (error != null) {
                future.completeExceptionally(error);
                future.arrived.complete(null);
                return;
            }
            future.pending.set(() -> {
                try {
                    future.complete(step.apply(value));
                } catch (Throwable failure) {
                    future.completeExceptionally(failure);
                }
            });
            future.arrived.complete(null); // wakes a waiter, which runs the step
            if (future.waiters.get() == 0) {
                future.pool.execute(future::runPending);
            }
        });
        return future;
    }

    /**
     * From now on, a thread waiting on this future helps {@code other}'s step (when it has one).
     *
     * @param other the future whose step a waiting thread may run
     */
    public void follow(CompletableFuture<?> other) {
        if (other instanceof CallerRunsFuture<?> helper && helper != this) {
            source = helper;
        }
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CallerRunsFuture<>(this, null);
    }

    /** The root whose step a waiter on this future would run, or {@code null}. */
    private CallerRunsFuture<?> root() {
        CallerRunsFuture<?> future = this;
        for (int hops = 0; future != null && hops < 64; hops++) {
            if (future.pending != null) {
                return future;
            }
            future = future.source;
        }
        return null;
    }

    @Override
    public T join() {
        help(this, -1);
        return super.join();
    }

    @Override
    public T get() throws InterruptedException, ExecutionException {
        helpInterruptibly(this, -1);
        return super.get();
    }

    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        helpInterruptibly(this, unit.toNanos(timeout));
        return super.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private void help(CompletableFuture<?> waiter, long nanos) {
        try {
            helpInterruptibly(waiter, nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // join() is not interruptible: keep the status for later
        }
    }

    /**
     * Waits until the root's reply is in (or {@code waiter} is done, or {@code nanos} passed) and
     * runs its step here unless another thread has it already.
     */
    private void helpInterruptibly(CompletableFuture<?> waiter, long nanos) throws InterruptedException {
        CallerRunsFuture<?> step = root();
        if (waiter.isDone() || step == null || step.isDone()) {
            return;
        }
        step.waiters.incrementAndGet();
        try {
            CompletableFuture<Object> either = CompletableFuture.anyOf(step.arrived, waiter);
            if (nanos < 0) {
                either.get();
            } else {
                either.get(nanos, TimeUnit.NANOSECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            // the waiter failed or the time is up: the caller's own get()/join() reports it
        } finally {
            step.waiters.decrementAndGet();
            // Runs the step if its reply is in and nobody has it yet; when the reply is still out,
            // its arrival sees no waiter and hands the step to the pool.
            step.runPending();
        }
    }

    private void runPending() {
        Runnable step = pending.getAndSet(null);
        if (step != null) {
            step.run();
        }
    }
}
