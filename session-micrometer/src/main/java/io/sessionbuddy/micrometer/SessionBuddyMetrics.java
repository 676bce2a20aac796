package io.sessionbuddy.micrometer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.observation.ObservationRegistry;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.AbstractSessionStorage;
import io.sessionbuddy.spi.NearCacheStats;
import io.sessionbuddy.spi.SessionBuddy;
import java.util.Objects;

/**
 * Micrometer metrics, and optionally Micrometer Observation spans, of one Session Buddy store.
 *
 * <pre>{@code
 * SessionBuddyMetrics.bind(buddy, meterRegistry);                       // metrics
 * SessionBuddyMetrics.of(buddy).observations(observationRegistry)       // and spans
 *         .percentileHistogram(true).bindTo(meterRegistry);
 * }</pre>
 *
 * <p>Meters (every one tagged {@code backend}; tags never hold a session, user or project id):
 * <ul>
 *   <li>{@value #OPERATIONS} (timer): every storage operation ({@code store}, {@code retrieve},
 *       {@code replace}, {@code delete}, {@code list}, {@code cleanup}) and the manager's
 *       {@code update} (all its attempts), tagged {@code operation} and {@code outcome}
 *       ({@code success}, {@code not_found}, {@code conflict}, {@code corrupt}, {@code too_large},
 *       {@code unavailable}, {@code unknown_outcome}). Percentiles off by default; histograms with
 *       {@link #percentileHistogram(boolean)}, client-side percentiles with {@link #percentiles}.
 *   <li>{@value #UPDATE_ATTEMPTS} (summary): attempts per update; {@value #UPDATE_CONFLICTS}
 *       (counter): compare-and-set conflicts; {@value #UPDATE_GAVE_UP} (counter): updates that
 *       failed after their last attempt.
 *   <li>{@value #DAMAGED_RECORDS} (counter, tag {@code reason}): records that could not be decoded.
 *   <li>{@value #RECORD_SIZE} and {@value #JSON_SIZE} (summaries, bytes): written records' stored
 *       and JSON sizes (backends that store bytes: file, Redis, S3).
 *   <li>{@value #CLEANUP_REMOVED}, {@value #SESSIONS_EXPIRED}, {@value #INDEX_REPAIRS} (counters).
 *   <li>{@value #LISTENER_FAILURES}, {@value #EVENTS_DROPPED} (counters): session listeners.
 *   <li>{@value #ENTRIES} (gauge): sessions held, where the backend can say cheaply (memory).
 *   <li>{@value #NEAR_CACHE_ENTRIES} (gauge), {@value #NEAR_CACHE_REQUESTS} (counter, {@code result}
 *       = {@code hit}/{@code miss}) and {@value #NEAR_CACHE_INVALIDATIONS} (counter): a near cache,
 *       where the storage has one (Redis with {@code near_cache}).
 * </ul>
 *
 * <p>With an {@link ObservationRegistry}, each operation runs in an Observation named
 * {@value #OPERATIONS} (contextual name {@code session-buddy <operation>}) with the low-cardinality
 * keys {@code backend}, {@code operation} and {@code outcome}, and the error when it failed, so that
 * Micrometer Tracing / OpenTelemetry users see the store's spans; no session content or id is put on
 * them. Observations are started and stopped, not opened as a scope (operations complete on other
 * threads).
 */
public final class SessionBuddyMetrics implements MeterBinder {
    /** Timer of operations. */
    public static final String OPERATIONS = "session.buddy.operations";
    /** Summary of attempts per update. */
    public static final String UPDATE_ATTEMPTS = "session.buddy.update.attempts";
    /** Counter of compare-and-set conflicts of updates. */
    public static final String UPDATE_CONFLICTS = "session.buddy.update.conflicts";
    /** Counter of updates that gave up. */
    public static final String UPDATE_GAVE_UP = "session.buddy.update.gave.up";
    /** Counter of damaged records, by reason. */
    public static final String DAMAGED_RECORDS = "session.buddy.records.damaged";
    /** Summary of encoded record sizes. */
    public static final String RECORD_SIZE = "session.buddy.record.size";
    /** Summary of session JSON sizes. */
    public static final String JSON_SIZE = "session.buddy.session.json.size";
    /** Counter of sessions removed by cleanup. */
    public static final String CLEANUP_REMOVED = "session.buddy.cleanup.removed";
    /** Counter of sessions the store removed as expired (one per expired event). */
    public static final String SESSIONS_EXPIRED = "session.buddy.sessions.expired";
    /** Counter of index entries repaired by cleanup. */
    public static final String INDEX_REPAIRS = "session.buddy.index.repairs";
    /** Counter of session listeners that threw. */
    public static final String LISTENER_FAILURES = "session.buddy.listener.failures";
    /** Counter of session events dropped because listeners fell behind. */
    public static final String EVENTS_DROPPED = "session.buddy.events.dropped";
    /** Gauge of sessions held (memory backend). */
    public static final String ENTRIES = "session.buddy.entries";
    /** Gauge of sessions held by a near cache (Redis with {@code near_cache}). */
    public static final String NEAR_CACHE_ENTRIES = "session.buddy.near.cache.entries";
    /** Counter of near-cache lookups, tagged {@code result} = {@code hit} or {@code miss}. */
    public static final String NEAR_CACHE_REQUESTS = "session.buddy.near.cache.requests";
    /** Counter of near-cache entries dropped because the store reported their key changed. */
    public static final String NEAR_CACHE_INVALIDATIONS = "session.buddy.near.cache.invalidations";

    /** Histogram and percentile settings of the timers and summaries. */
    @SuppressWarnings("ArrayRecordComponent") // package-private settings carrier: never compared or hashed
    record Options(boolean histograms, double[] percentiles) {
    }

    private final SessionStorage storage;
    private final SessionManager manager;
    private ObservationRegistry observations;
    private boolean histograms;
    private double[] percentiles = new double[0];
    private MicrometerSessionObserver observer;

    private SessionBuddyMetrics(SessionStorage storage, SessionManager manager) {
        this.storage = Objects.requireNonNull(storage, "storage");
        this.manager = manager;
    }

    /**
     * Metrics of {@code buddy}'s storage and manager; call {@link #bindTo} to start recording.
     *
     * @param buddy the store
     * @return the unbound metrics
     */
    public static SessionBuddyMetrics of(SessionBuddy buddy) {
        Objects.requireNonNull(buddy, "buddy");
        return new SessionBuddyMetrics(buddy.storage(), buddy.manager());
    }

    /**
     * Metrics of a storage and (optionally) a manager built without {@link SessionBuddy}.
     *
     * @param storage the storage (built on {@link AbstractSessionStorage} to report anything)
     * @param manager the manager whose updates to time, or {@code null}
     * @return the unbound metrics
     */
    public static SessionBuddyMetrics of(SessionStorage storage, SessionManager manager) {
        return new SessionBuddyMetrics(storage, manager);
    }

    /**
     * Binds {@code buddy}'s metrics to {@code registry}: the one call most applications need.
     *
     * @param buddy the store
     * @param registry where the meters go
     * @return the bound metrics ({@link #unbind()} stops them)
     */
    public static SessionBuddyMetrics bind(SessionBuddy buddy, MeterRegistry registry) {
        SessionBuddyMetrics metrics = of(buddy);
        metrics.bindTo(registry);
        return metrics;
    }

    /**
     * Also runs each operation in an Observation of {@code registry} (tracing).
     *
     * @param registry the observation registry, or {@code null} for none
     * @return this
     */
    public SessionBuddyMetrics observations(ObservationRegistry registry) {
        this.observations = registry;
        return this;
    }

    /**
     * Publishes percentile histograms of the timers and summaries (off by default).
     *
     * @param enabled whether to
     * @return this
     */
    public SessionBuddyMetrics percentileHistogram(boolean enabled) {
        this.histograms = enabled;
        return this;
    }

    /**
     * Publishes client-side percentiles of the timers, e.g. {@code 0.5, 0.99} (none by default).
     *
     * @param values percentiles from 0 to 1
     * @return this
     */
    public SessionBuddyMetrics percentiles(double... values) {
        this.percentiles = values.clone();
        return this;
    }

    /**
     * Starts recording into {@code registry}: adds an observer to the storage and the manager, and the
     * entries gauge where the backend has one. Binding a second registry replaces the first.
     *
     * @throws IllegalStateException when the storage does not report to observers
     */
    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        unbind();
        MicrometerSessionObserver next = new MicrometerSessionObserver(registry, observations,
                new Options(histograms, percentiles));
        if (!storage.addObserver(next)) {
            throw new IllegalStateException("storage " + storage.backendName() + " does not report to observers:"
                    + " build it on io.sessionbuddy.spi.AbstractSessionStorage");
        }
        if (manager != null) {
            manager.addObserver(next);
        }
        observer = next;
        if (storage instanceof AbstractSessionStorage base && base.entryCount().isPresent()) {
            Gauge.builder(ENTRIES, base, s -> s.entryCount().orElse(0))
                    .description("Sessions held by the store (expired ones not yet removed included)")
                    .tag("backend", storage.backendName()).register(registry);
        }
        if (storage instanceof AbstractSessionStorage base && base.nearCacheStats().isPresent()) {
            String backend = storage.backendName();
            Gauge.builder(NEAR_CACHE_ENTRIES, base, s -> s.nearCacheStats().map(NearCacheStats::entries).orElse(0L))
                    .description("Sessions held by the near cache").tag("backend", backend).register(registry);
            FunctionCounter.builder(NEAR_CACHE_REQUESTS, base, s -> s.nearCacheStats().map(NearCacheStats::hits)
                    .orElse(0L)).description("Near-cache lookups").tags("backend", backend, "result", "hit")
                    .register(registry);
            FunctionCounter.builder(NEAR_CACHE_REQUESTS, base, s -> s.nearCacheStats().map(NearCacheStats::misses)
                    .orElse(0L)).description("Near-cache lookups").tags("backend", backend, "result", "miss")
                    .register(registry);
            FunctionCounter.builder(NEAR_CACHE_INVALIDATIONS, base, s -> s.nearCacheStats()
                    .map(NearCacheStats::invalidations).orElse(0L))
                    .description("Near-cache entries dropped because the store reported a change")
                    .tag("backend", backend).register(registry);
        }
    }

    /** Stops recording (meters already registered stay in their registry). */
    public synchronized void unbind() {
        if (observer != null) {
            storage.removeObserver(observer);
            if (manager != null) {
                manager.removeObserver(observer);
            }
            observer = null;
        }
    }
}
