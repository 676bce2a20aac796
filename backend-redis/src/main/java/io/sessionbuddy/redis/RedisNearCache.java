package io.sessionbuddy.redis;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.push.PushListener;
import io.lettuce.core.api.push.PushMessage;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.spi.NearCacheStats;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The near cache of a standalone or Sentinel {@link RedisSessionStorage}: decoded sessions in a
 * bounded Caffeine cache that Redis keeps correct with RESP3 client tracking in broadcast mode
 * (<code>CLIENT TRACKING ON BCAST PREFIX &lt;namespace&gt;:{ NOLOOP</code>) on the storage's own
 * connection, so that every change of a data key by another client, its expiry or eviction, and
 * {@code FLUSHDB} arrive here as invalidations, in order with the replies of that connection. The
 * storage's own writes drop their key here when they are sent and again when they finish
 * (whatever the outcome), so a read that raced one cannot leave the old value behind.
 *
 * <p>A read that missed fills the cache only if nothing invalidated its key while it was in
 * flight and the connection it went over had tracking on when it was sent: each read holds a
 * {@link Ticket}, which an invalidation of its key or a lost connection voids, and the fill is
 * checked against the ticket under the same per-key lock an invalidation takes. A lost connection
 * drops every entry before the connection is used again, and entries are used only after the
 * tracking command of the current connection was acknowledged.
 */
final class RedisNearCache {
    private static final Logger LOG = LoggerFactory.getLogger(RedisNearCache.class);

    private final Cache<String, Optional<SessionState>> entries;
    private final ConcurrentHashMap<String, Ticket> inFlight = new ConcurrentHashMap<>();
    private final String prefix;
    private final String where;
    /** Advanced by every lost connection and flush: tickets and tracking acknowledgements of an older epoch are void. */
    private final AtomicLong epoch = new AtomicLong();
    /** Whether the current connection's tracking is acknowledged (only then entries are used). */
    private volatile boolean active;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder invalidations = new LongAdder();
    private final LongAdder flushes = new LongAdder();
    private final PushListener listener = this::onPush;
    /** Set by a lost connection, cleared when the next one is tracked. */
    private final java.util.concurrent.atomic.AtomicBoolean lost = new java.util.concurrent.atomic.AtomicBoolean();

    RedisNearCache(String prefix, long maximumSize, Duration maximumAge, String where) {
        this.prefix = prefix;
        this.where = where;
        this.entries = Caffeine.newBuilder().maximumSize(maximumSize).expireAfterWrite(maximumAge)
                .executor(Runnable::run).build();
    }

    /** A read that can use the cache: the cached session, or {@code null} (a miss, or tracking not on). */
    Optional<SessionState> get(String key) {
        if (!active) {
            return null;
        }
        Optional<SessionState> found = entries.getIfPresent(key);
        if (found == null) {
            misses.increment();
        } else {
            hits.increment();
        }
        return found;
    }

    /** Registers a read about to be sent for {@code key}; {@code null} when it must not fill the cache. */
    Ticket beginRead(String key) {
        if (!active) {
            return null;
        }
        long current = epoch.get();
        return inFlight.compute(key, (k, held) -> {
            Ticket ticket = held != null && held.epoch == current ? held : new Ticket(current);
            ticket.readers++;
            return ticket;
        });
    }

    /** Ends a read begun with {@link #beginRead}: caches {@code value} (a session or empty) if nothing voided the ticket. */
    void endRead(String key, Ticket ticket, Optional<SessionState> value) {
        finish(key, ticket, value, true);
    }

    /** Ends a read begun with {@link #beginRead} that failed: nothing is cached. */
    void abandonRead(String key, Ticket ticket) {
        finish(key, ticket, Optional.empty(), false);
    }

    private void finish(String key, Ticket ticket, Optional<SessionState> value, boolean fill) {
        if (ticket == null) {
            return;
        }
        inFlight.computeIfPresent(key, (k, held) -> {
            if (held != ticket) {
                return held; // voided and replaced: this read's value may be stale
            }
            if (fill && !ticket.voided && ticket.epoch == epoch.get() && active) {
                entries.put(key, value);
            }
            return --ticket.readers == 0 ? null : ticket;
        });
    }

    /** Drops {@code key}: this instance changed it, or a compare-and-set showed the copy is stale. */
    void invalidate(String key) {
        inFlight.computeIfPresent(key, (k, held) -> {
            held.voided = true;
            return null;
        });
        entries.invalidate(key);
    }

    /** Drops every entry and voids every read in flight; entries are used again once tracking is acknowledged. */
    void flush(boolean deactivate) {
        epoch.incrementAndGet();
        if (deactivate) {
            active = false;
        }
        for (Ticket ticket : inFlight.values()) {
            ticket.voided = true;
        }
        inFlight.clear();
        entries.invalidateAll();
        flushes.increment();
    }

    /** The connection was lost: nothing cached may be used until tracking is on again on the next one. */
    void disconnected() {
        lost.set(true);
        flush(true);
    }

    /**
     * The connection is up again after {@link #disconnected()}: tracking is turned on for it. (The
     * connected event of the first connection, which {@link #track} already covers, is ignored.)
     */
    void reconnected(StatefulRedisConnection<String, byte[]> connection) {
        if (lost.compareAndSet(true, false)) {
            track(connection);
        }
    }

    /**
     * Turns tracking on for {@code connection} (a new one, or the same one reconnected) and listens
     * to its invalidations; entries are used once Redis acknowledged it.
     */
    void track(StatefulRedisConnection<String, byte[]> connection) {
        connection.removeListener(listener);
        connection.addListener(listener);
        flush(true);
        long requested = epoch.get();
        connection.async().clientTracking(TrackingArgs.Builder.enabled().bcast().prefixes(prefix).noloop())
                .whenComplete((reply, error) -> {
                    String message = error == null ? null : String.valueOf(error.getMessage());
                    boolean alreadyOn = message != null && message.contains("overlaps with an existing prefix");
                    if (error != null && !alreadyOn) {
                        LOG.warn("[{}] near cache off: {} refused client tracking ({}); every read goes to Redis"
                                + " until the next reconnect", RedisStorageProvider.NAME, where, message);
                        return;
                    }
                    if (epoch.get() == requested) {
                        active = true;
                    }
                });
    }

    /** Stops listening on {@code connection}. */
    void detach(StatefulRedisConnection<String, byte[]> connection) {
        connection.removeListener(listener);
        flush(true);
    }

    private void onPush(PushMessage message) {
        if (!"invalidate".equals(message.getType())) {
            return;
        }
        List<Object> content = message.getContent(RedisNearCache::text);
        Object keys = content.size() > 1 ? content.get(1) : null;
        if (!(keys instanceof List<?> list)) {
            flush(false); // FLUSHDB / FLUSHALL: every key changed
            invalidations.increment();
            return;
        }
        for (Object key : list) {
            invalidate(String.valueOf(key));
            invalidations.increment();
        }
    }

    private static Object text(ByteBuffer buffer) {
        return StandardCharsets.UTF_8.decode(buffer).toString();
    }

    /** What the cache holds and did. */
    NearCacheStats stats() {
        return new NearCacheStats(active, entries.estimatedSize(), hits.sum(), misses.sum(), invalidations.sum(),
                flushes.sum());
    }

    /** One key's reads in flight; voided by an invalidation of the key or a lost connection. */
    static final class Ticket {
        final long epoch;
        /** Changed only inside {@code inFlight}'s per-key lock. */
        int readers;
        volatile boolean voided;

        Ticket(long epoch) {
            this.epoch = epoch;
        }
    }
}
