package io.sessionbuddy.cli;

import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionException;

/**
 * Copies every session of one store into another, keeping each session's version and remaining
 * time to live. Safe to re-run: a session already in the target with the same or a newer version is
 * skipped. Every copy is read back and compared; the source is only emptied (on request) when every
 * session was verified.
 */
final class Migration {
    /** Receives progress after each session. */
    interface Progress {
        void update(Counts counts, int total, Duration elapsed);

        void finish(Counts counts, int total, Duration elapsed);
    }

    /** Running counts. */
    static final class Counts {
        int copied;
        int present;
        int expired;
        int overLimit;
        final Map<String, String> failures = new LinkedHashMap<>();

        int done() {
            return copied + present + expired + failures.size();
        }
    }

    /**
     * What a migration did.
     *
     * @param total sessions listed in the source
     * @param copied sessions written to the target (or, in a dry run, that would be)
     * @param present sessions skipped because the target holds the same or a newer version
     * @param expired sessions skipped because they expired (or vanished) before their turn
     * @param failures sessions that could not be copied, with the reason, by id
     * @param deletedFromSource sessions deleted from the source after verification
     * @param dryRun whether nothing was written
     * @param elapsed wall time
     * @param overLimit sessions whose JSON is over the target's configured {@code max_session_bytes}
     *     (copied when the run raised the limit, failed otherwise)
     */
    record Summary(int total, int copied, int present, int expired, Map<String, String> failures,
            int deletedFromSource, boolean dryRun, Duration elapsed, int overLimit) {
        double rate() {
            double seconds = Math.max(elapsed.toNanos() / 1e9, 1e-3);
            return total / seconds;
        }
    }

    private final SessionStorage source;
    private final SessionStorage target;
    private final Duration fallbackTtl;
    private final Clock clock;
    private final long configuredLimit;

    /**
     * @param fallbackTtl the time to live of sessions that carry no {@code expires_at}
     */
    Migration(SessionStorage source, SessionStorage target, Duration fallbackTtl, Clock clock) {
        this(source, target, fallbackTtl, clock, Long.MAX_VALUE);
    }

    /**
     * @param configuredLimit the target's configured {@code max_session_bytes}: sessions over it are
     *     counted ({@link Summary#overLimit()}), whatever limit the target was opened with
     */
    Migration(SessionStorage source, SessionStorage target, Duration fallbackTtl, Clock clock, long configuredLimit) {
        this.source = Objects.requireNonNull(source);
        this.target = Objects.requireNonNull(target);
        this.fallbackTtl = Objects.requireNonNull(fallbackTtl);
        this.clock = Objects.requireNonNull(clock);
        this.configuredLimit = configuredLimit;
    }

    Summary run(boolean dryRun, boolean deleteSource, Progress progress) {
        long started = System.nanoTime();
        List<String> ids = source.listStoredSessionIds().join();
        Counts counts = new Counts();
        Map<String, SessionState> verified = new java.util.LinkedHashMap<>();
        for (String id : ids) {
            try {
                SessionState copied = copy(id, dryRun, counts);
                if (copied != null) {
                    verified.put(id, copied);
                }
            } catch (RuntimeException e) {
                String message = message(e);
                if (cause(e) instanceof io.sessionbuddy.core.SessionTooLargeException) {
                    message += "; migrate --max-session-bytes N carries it (N at most the target's max_decoded_bytes)";
                }
                counts.failures.put(id, message);
            }
            progress.update(counts, ids.size(), Duration.ofNanos(System.nanoTime() - started));
        }
        int deleted = 0;
        if (deleteSource && !dryRun && counts.failures.isEmpty()) {
            for (Map.Entry<String, SessionState> entry : verified.entrySet()) {
                String id = entry.getKey();
                try {
                    // only what is unchanged since its copy: a session the source's application
                    // updated meanwhile keeps its new content in the source, and is reported
                    Optional<SessionState> now = source.retrieveSession(id).join();
                    if (now.isPresent() && !sameContent(now.get(), entry.getValue())) {
                        counts.failures.put(id, "changed in the source after it was copied (version "
                                + entry.getValue().version() + " copied, " + now.get().version()
                                + " now): not deleted from the source; run migrate again");
                        continue;
                    }
                    if (now.isPresent() && source.deleteSession(id).join()) {
                        deleted++;
                    }
                } catch (RuntimeException e) {
                    counts.failures.put(id, "not deleted from the source: " + message(e));
                }
            }
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
        progress.finish(counts, ids.size(), elapsed);
        return new Summary(ids.size(), counts.copied, counts.present, counts.expired, counts.failures, deleted, dryRun,
                elapsed, counts.overLimit);
    }

    /**
     * Copies one session; the source state that was copied when the target verifiably holds it (or
     * a newer version), else {@code null}.
     */
    private SessionState copy(String id, boolean dryRun, Counts counts) {
        Optional<SessionState> found = source.retrieveSession(id).join();
        Instant now = clock.instant();
        if (found.isEmpty()) {
            counts.expired++;
            return null;
        }
        SessionState session = found.get();
        Duration ttl = session.expiresAt() == null ? fallbackTtl : Duration.between(now, session.expiresAt());
        if (ttl.toMillis() <= 0) {
            counts.expired++;
            return null;
        }
        if (io.sessionbuddy.core.SessionJsonCodec.sizeUpperBound(session) > configuredLimit
                && io.sessionbuddy.core.SessionJsonCodec.size(session) > configuredLimit) {
            counts.overLimit++;
        }
        Optional<SessionState> existing = target.retrieveSession(id).join();
        if (existing.isPresent()) {
            SessionState there = existing.get();
            if (there.version() > session.version()) {
                counts.present++;
                return session;
            }
            if (there.version() == session.version()) {
                if (!sameContent(there, session)) {
                    throw new IllegalStateException("the target holds a different session with this id and version "
                            + there.version() + "; left as it is");
                }
                counts.present++;
                return session;
            }
        }
        if (dryRun) {
            counts.copied++;
            return null;
        }
        if (existing.isPresent()) {
            if (!target.replaceSession(session, existing.get().version(), ttl).join()) {
                throw new IllegalStateException("the target's copy changed during the migration; run it again");
            }
        } else {
            target.storeSession(session, ttl).join();
        }
        SessionState readBack = target.retrieveSession(id).join()
                .orElseThrow(() -> new IllegalStateException("not found in the target when read back"));
        if (!sameContent(readBack, session)) {
            throw new IllegalStateException("the copy read back from the target differs from the source");
        }
        counts.copied++;
        return session;
    }

    private static boolean sameContent(SessionState a, SessionState b) {
        return a.withExpiresAt(null).equals(b.withExpiresAt(null));
    }

    /** The message of what failed, without the future's {@code CompletionException} wrapping. */
    static String message(Throwable error) {
        Throwable cause = cause(error);
        return cause.getMessage() != null ? cause.getMessage() : cause.toString();
    }

    private static Throwable cause(Throwable error) {
        Throwable cause = error;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
