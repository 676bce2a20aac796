package io.sessionbuddy.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/** {@link SessionStorage#retrieveEach}'s reads in flight: lanes that each start the next read as theirs finishes. */
final class BulkRead {
    private final SessionStorage storage;
    private final List<String> ids;
    private final AtomicReferenceArray<Optional<SessionState>> found;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger finished = new AtomicInteger();
    private final AtomicBoolean failed = new AtomicBoolean();
    private final CompletableFuture<Map<String, SessionState>> result = new CompletableFuture<>();

    BulkRead(SessionStorage storage, List<String> ids) {
        this.storage = storage;
        this.ids = ids;
        this.found = new AtomicReferenceArray<>(ids.size());
    }

    CompletableFuture<Map<String, SessionState>> start(int inFlight) {
        for (int lane = 0; lane < Math.min(inFlight, ids.size()) && !failed.get(); lane++) {
            lane();
        }
        return result;
    }

    /** Starts reads one after the other while they finish at once; else continues when one does. */
    private void lane() {
        for (int i; !failed.get() && (i = next.getAndIncrement()) < ids.size(); ) {
            int index = i;
            CompletableFuture<Optional<SessionState>> read;
            try {
                read = storage.retrieveSession(ids.get(index));
            } catch (RuntimeException e) {
                read = CompletableFuture.failedFuture(e);
            }
            if (!read.isDone()) {
                var unused = read.whenComplete((state, error) -> {
                    if (settle(index, state, error)) {
                        lane();
                    }
                });
                return;
            }
            Optional<SessionState> state = null;
            Throwable error = null;
            try {
                state = read.join();
            } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
                error = e;
            }
            if (!settle(index, state, error)) {
                return;
            }
        }
    }

    /** Records one read's outcome; {@code false} when the bulk read has failed (no more reads). */
    private boolean settle(int index, Optional<SessionState> state, Throwable error) {
        if (error != null) {
            if (failed.compareAndSet(false, true)) {
                Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                result.completeExceptionally(cause);
            }
            return false;
        }
        found.set(index, state);
        if (finished.incrementAndGet() == ids.size()) {
            Map<String, SessionState> sessions = new LinkedHashMap<>();
            for (int i = 0; i < ids.size(); i++) {
                found.get(i).ifPresent(s -> sessions.put(s.sessionId(), s));
            }
            result.complete(Collections.unmodifiableMap(sessions));
        }
        return true;
    }
}
