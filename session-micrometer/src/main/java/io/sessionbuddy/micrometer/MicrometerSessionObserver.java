package io.sessionbuddy.micrometer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionObserver;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * A {@link SessionObserver} that records Micrometer meters and, when an {@link ObservationRegistry}
 * is given, runs each operation in an {@link Observation}. Meters are looked up once per tag
 * combination and kept, so an operation costs a map lookup and a clock read. Tags are the backend,
 * the operation, the outcome and a damaged record's reason: never a session, user or project id.
 */
final class MicrometerSessionObserver implements SessionObserver {
    private final MeterRegistry registry;
    private final ObservationRegistry observations;
    private final SessionBuddyMetrics.Options options;
    private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, DistributionSummary> summaries = new ConcurrentHashMap<>();

    MicrometerSessionObserver(MeterRegistry registry, ObservationRegistry observations,
            SessionBuddyMetrics.Options options) {
        this.registry = registry;
        this.observations = observations == null || observations.isNoop() ? null : observations;
        this.options = options;
    }

    /** Timers by backend, operation and outcome: three lookups, no key built per call. */
    private final ConcurrentMap<String, ConcurrentMap<Operation, ConcurrentMap<Outcome, Timer>>> timersByBackend =
            new ConcurrentHashMap<>();

    private Timer timer(String backend, Operation operation, Outcome outcome) {
        ConcurrentMap<Outcome, Timer> byOutcome = timersByBackend
                .computeIfAbsent(backend, b -> new ConcurrentHashMap<>())
                .computeIfAbsent(operation, o -> new ConcurrentHashMap<>());
        Timer timer = byOutcome.get(outcome);
        if (timer != null) {
            return timer;
        }
        return byOutcome.computeIfAbsent(outcome, o -> {
            Timer.Builder builder = Timer.builder(SessionBuddyMetrics.OPERATIONS)
                    .description("Session store operations, by backend, operation and outcome")
                    .tag("backend", backend).tag("operation", operation.tag()).tag("outcome", outcome.tag())
                    .publishPercentileHistogram(options.histograms());
            if (options.percentiles().length > 0) {
                builder.publishPercentiles(options.percentiles());
            }
            return builder.register(registry);
        });
    }

    private Counter counter(String name, String description, String backend, String... tags) {
        StringBuilder key = new StringBuilder(name).append('|').append(backend);
        for (String tag : tags) {
            key.append('|').append(tag);
        }
        return counters.computeIfAbsent(key.toString(), k -> {
            Counter.Builder builder = Counter.builder(name).description(description).tag("backend", backend);
            for (int i = 0; i + 1 < tags.length; i += 2) {
                builder.tag(tags[i], tags[i + 1]);
            }
            return builder.register(registry);
        });
    }

    private DistributionSummary summary(String name, String description, String unit, String backend) {
        return summaries.computeIfAbsent(name + '|' + backend, k -> DistributionSummary.builder(name)
                .description(description).baseUnit(unit).tag("backend", backend)
                .publishPercentileHistogram(options.histograms()).register(registry));
    }

    @Override
    public Timing start(String backend, Operation operation) {
        long startNanos = registry.config().clock().monotonicTime();
        Observation observation = null;
        if (observations != null) {
            observation = Observation.createNotStarted(SessionBuddyMetrics.OPERATIONS, observations)
                    .contextualName("session-buddy " + operation.tag())
                    .lowCardinalityKeyValue("backend", backend)
                    .lowCardinalityKeyValue("operation", operation.tag())
                    .start();
        }
        Observation started = observation;
        return (outcome, error) -> {
            timer(backend, operation, outcome).record(registry.config().clock().monotonicTime() - startNanos,
                    java.util.concurrent.TimeUnit.NANOSECONDS);
            if (started != null) {
                started.lowCardinalityKeyValue("outcome", outcome.tag());
                if (error != null) {
                    started.error(error);
                }
                started.stop();
            }
        };
    }

    @Override
    public void updateAttempts(String backend, int attempts, boolean gaveUp) {
        summary(SessionBuddyMetrics.UPDATE_ATTEMPTS, "Reads and compare-and-sets per update (1 = no conflict)", null,
                backend).record(attempts);
        int conflicts = gaveUp ? attempts : attempts - 1;
        if (conflicts > 0) {
            counter(SessionBuddyMetrics.UPDATE_CONFLICTS, "Compare-and-set conflicts of updates", backend)
                    .increment(conflicts);
        }
        if (gaveUp) {
            counter(SessionBuddyMetrics.UPDATE_GAVE_UP, "Updates that failed after their last attempt", backend)
                    .increment();
        }
    }

    @Override
    public void damagedRecord(String backend, CorruptSessionException.Reason reason) {
        counter(SessionBuddyMetrics.DAMAGED_RECORDS, "Stored records that could not be decoded", backend, "reason",
                reason.name().toLowerCase(Locale.ROOT)).increment();
    }

    @Override
    public void recordEncoded(String backend, int jsonBytes, int recordBytes) {
        summary(SessionBuddyMetrics.RECORD_SIZE, "Encoded record sizes (compressed, encrypted as configured)", "bytes",
                backend).record(recordBytes);
        summary(SessionBuddyMetrics.JSON_SIZE, "Session JSON sizes of written records", "bytes", backend)
                .record(jsonBytes);
    }

    @Override
    public void cleanedUp(String backend, int sessions) {
        counter(SessionBuddyMetrics.CLEANUP_REMOVED, "Expired sessions removed by cleanup", backend).increment(sessions);
    }

    @Override
    public void indexRepaired(String backend, int entries) {
        counter(SessionBuddyMetrics.INDEX_REPAIRS, "Index entries repaired by cleanup (stale or missing)", backend)
                .increment(entries);
    }

    @Override
    public void sessionExpired(String backend, String sessionId, String userId, String projectId) {
        if (io.sessionbuddy.core.SessionManager.ROTATED_OWNER.equals(userId)) {
            return; // the marker a rotation left under an old id: its session lives on under the new id
        }
        counter(SessionBuddyMetrics.SESSIONS_EXPIRED, "Sessions the store removed as expired", backend).increment();
    }

    @Override
    public void listenerFailed(String backend) {
        counter(SessionBuddyMetrics.LISTENER_FAILURES, "Session listeners that threw", backend).increment();
    }

    @Override
    public void eventDropped(String backend) {
        counter(SessionBuddyMetrics.EVENTS_DROPPED, "Session events dropped because listeners fell behind", backend)
                .increment();
    }

    @Override
    public String toString() {
        return "MicrometerSessionObserver[" + registry.getClass().getSimpleName() + "]";
    }
}
