package io.sessionbuddy.redis;

import io.lettuce.core.Consumer;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAutoClaimArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.SessionEvent;
import io.sessionbuddy.core.SessionListener;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers the session events other processes' writes appended to a Redis event stream (see the
 * {@code redis} backend's {@code event_stream} setting) to a {@link SessionListener}, through a
 * consumer group: each event goes to one consumer of the group, at least once.
 *
 * <p>An event is acknowledged ({@code XACK}) after the listener returned. When the listener throws,
 * or the process dies before the acknowledgement, the event stays pending: a consumer started again
 * under the same name reads its pending events first, and any consumer of the group takes over
 * events another consumer left pending longer than {@code claimIdleAfter} ({@code XAUTOCLAIM},
 * Redis 6.2 or later). A listener can therefore see an event twice; {@link SessionEvent#streamId()}
 * identifies it for deduplication. Events are read on one thread of the consumer's own
 * ({@code session-buddy-events-<group>}), in stream order.
 *
 * <p>In Redis Cluster ({@link #startCluster}) each write appends its event to the stream of its
 * key's slot ({@link RedisSessionStorage#eventStreamKey(String, int)}), so the consumer reads the
 * streams of all 16,384 slots: it waits on the bell stream the writers append each event's slot to
 * right after the event, reads the slots named there, and sweeps every slot at an interval, which
 * finds events whose bell was lost (a writer that died between its write and the bell) and slot
 * streams created while no consumer of the group ran. Events of one session come in order (one
 * session, one slot); events of different sessions may come in any order.
 *
 * <pre>{@code
 * try (RedisSessionEventConsumer consumer = RedisSessionEventConsumer.start(RedisURI.create("redis://localhost"),
 *         "sessions", "billing", "billing-1", listener)) { ... }
 * }</pre>
 */
public final class RedisSessionEventConsumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionEventConsumer.class);

    /** Where the events come from: one stream (standalone, Sentinel) or a cluster's slot streams. */
    interface Source {
        /**
         * Reads what is due, waiting up to about half a second when nothing is, and hands each
         * event to {@code sink} in its stream's order.
         *
         * @param sink told of each event read, with the stream it was read from
         */
        void poll(Sink sink);

        /**
         * Sends the acknowledgement of an event ({@code XACK}).
         *
         * @param stream the stream it was read from
         * @param group the consumer group
         * @param entryId its entry id
         * @return its reply
         */
        io.lettuce.core.RedisFuture<Long> ack(String stream, String group, String entryId);

        /**
         * The id a listener sees for an event of {@code stream}: unique among the events of the
         * namespace.
         *
         * @param stream the stream the event was read from
         * @param entryId its entry id there
         * @return the event's {@link SessionEvent#streamId()}
         */
        String eventId(String stream, String entryId);

        /**
         * Whether the first read of everything is done (for a cluster, the first sweep of every slot):
         * events appended before it started have been read.
         *
         * @return whether the first read of everything is done
         */
        default boolean caughtUp() {
            return true;
        }

        /** Closes the connections. */
        void close();
    }

    /** Takes the events a {@link Source} read. */
    @FunctionalInterface
    interface Sink {
        /**
         * Takes one event.
         *
         * @param stream the stream it was read from
         * @param message the entry
         */
        void take(String stream, StreamMessage<String, String> message);
    }

    private final Source source;
    private final String group;
    private final SessionListener listener;
    private final Thread thread;
    private final AtomicLong delivered = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicInteger acksInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean running = true;

    private RedisSessionEventConsumer(Source source, String group, SessionListener listener) {
        this.source = source;
        this.group = group;
        this.listener = listener;
        this.thread = new Thread(this::run, "session-buddy-events-" + group);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Starts consuming the events of the store with namespace {@code namespace} on {@code uri} as
     * {@code consumer} in {@code group} (created when missing, from new events on), taking over events
     * left pending by other consumers for 30 seconds.
     *
     * @param uri the Redis server the writers use (standalone or Sentinel)
     * @param namespace the store's {@code namespace}; the stream is {@code <namespace>:events}
     * @param group the consumer group: each event goes to one consumer of it
     * @param consumer this consumer's name in the group (the same name after a restart resumes its
     *     pending events)
     * @param listener told of each event, on the consumer's own thread
     * @return the running consumer; {@link #close()} it
     * @throws io.lettuce.core.RedisException when Redis cannot be reached
     */
    public static RedisSessionEventConsumer start(RedisURI uri, String namespace, String group, String consumer,
            SessionListener listener) {
        return start(uri, namespace, group, consumer, listener, Duration.ofSeconds(30), false);
    }

    /**
     * Like {@link #start(RedisURI, String, String, String, SessionListener)}.
     *
     * @param uri the Redis server the writers use (standalone or Sentinel)
     * @param namespace the store's {@code namespace}; the stream is {@code <namespace>:events}
     * @param group the consumer group: each event goes to one consumer of it
     * @param consumer this consumer's name in the group (the same name after a restart resumes its
     *     pending events)
     * @param listener told of each event, on the consumer's own thread
     * @param claimIdleAfter events pending this long at another consumer are taken over
     * @param fromStart a group created now starts at the oldest event in the stream, not the next one
     * @return the running consumer; {@link #close()} it
     * @throws io.lettuce.core.RedisException when Redis cannot be reached
     */
    public static RedisSessionEventConsumer start(RedisURI uri, String namespace, String group, String consumer,
            SessionListener listener, Duration claimIdleAfter, boolean fromStart) {
        Objects.requireNonNull(uri, "uri");
        requireArguments(namespace, group, consumer, listener, claimIdleAfter);
        return new RedisSessionEventConsumer(new StreamSource(uri, namespace, group, consumer, claimIdleAfter, fromStart),
                group, listener);
    }

    /**
     * Starts consuming the events of the store with namespace {@code namespace} in the Redis Cluster
     * reached through {@code seeds}, as {@code consumer} in {@code group} (created when missing, from
     * about now on), taking over events left pending by other consumers for 30 seconds and sweeping
     * every slot's stream every 30 seconds (see {@link #startCluster(List, String, String, String,
     * SessionListener, Duration, boolean, Duration)}).
     *
     * @param seeds nodes of the cluster the writers use
     * @param namespace the store's {@code namespace}
     * @param group the consumer group: each event goes to one consumer of it
     * @param consumer this consumer's name in the group (the same name after a restart resumes its
     *     pending events)
     * @param listener told of each event, on the consumer's own thread
     * @return the running consumer; {@link #close()} it
     * @throws io.lettuce.core.RedisException when the cluster cannot be reached
     */
    public static RedisSessionEventConsumer startCluster(List<RedisURI> seeds, String namespace, String group,
            String consumer, SessionListener listener) {
        return startCluster(seeds, namespace, group, consumer, listener, Duration.ofSeconds(30), false,
                Duration.ofSeconds(30));
    }

    /**
     * Like {@link #startCluster(List, String, String, String, SessionListener)}.
     *
     * <p>The group exists in each slot stream separately (Redis has no group over several streams):
     * the consumer creates it in a slot stream when it first finds the stream, starting at the
     * group's start mark, kept in {@code <namespace>:events:group:<group>} and set by the group's
     * first consumer (about one second before it started, by the cluster's clock, or the start of
     * the streams with {@code fromStart}). So a slot stream created while no consumer of the group
     * ran is read from the mark on, and no event after the mark is missed.
     *
     * @param seeds nodes of the cluster the writers use
     * @param namespace the store's {@code namespace}
     * @param group the consumer group: each event goes to one consumer of it
     * @param consumer this consumer's name in the group (the same name after a restart resumes its
     *     pending events)
     * @param listener told of each event, on the consumer's own thread
     * @param claimIdleAfter events pending this long at another consumer are taken over
     * @param fromStart a group started now for the first time reads the slot streams from their
     *     oldest event, not from about now
     * @param sweepEvery how often every slot's stream is read whether or not its bell was heard: the
     *     longest an event whose bell was lost waits (a sweep sends one command per slot, 16,384)
     * @return the running consumer; {@link #close()} it
     * @throws io.lettuce.core.RedisException when the cluster cannot be reached
     */
    public static RedisSessionEventConsumer startCluster(List<RedisURI> seeds, String namespace, String group,
            String consumer, SessionListener listener, Duration claimIdleAfter, boolean fromStart,
            Duration sweepEvery) {
        Objects.requireNonNull(seeds, "seeds");
        requireArguments(namespace, group, consumer, listener, claimIdleAfter);
        Objects.requireNonNull(sweepEvery, "sweepEvery");
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("seeds must not be empty");
        }
        if (sweepEvery.isNegative() || sweepEvery.isZero()) {
            throw new IllegalArgumentException("sweepEvery must be positive, was " + sweepEvery);
        }
        return new RedisSessionEventConsumer(new SlotStreamSource(seeds, namespace, group, consumer, claimIdleAfter,
                sweepEvery, fromStart), group, listener);
    }

    private static void requireArguments(String namespace, String group, String consumer, SessionListener listener,
            Duration claimIdleAfter) {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(consumer, "consumer");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(claimIdleAfter, "claimIdleAfter");
    }

    /**
     * Events delivered to the listener (whose acknowledgement was then sent) so far.
     *
     * @return the count since this consumer started
     */
    public long delivered() {
        return delivered.get();
    }

    /**
     * Whether the consumer has read every stream once since it started (in Redis Cluster, its first
     * sweep of all slots is done); until then an event written before the start may still come.
     *
     * @return whether every stream was read once
     */
    boolean caughtUp() {
        return source.caughtUp();
    }

    private void run() {
        while (running) {
            try {
                source.poll(this::deliver);
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                LOG.warn("[redis] reading session events (group {}) failed; retrying in 1 s: {}", group, e.toString());
                sleep();
            }
        }
    }

    private void deliver(String stream, StreamMessage<String, String> message) {
        if (!running) {
            return;
        }
        Map<String, String> body = message.getBody();
        SessionEvent event;
        try {
            SessionEvent.Type type = SessionEvent.Type.valueOf(body.getOrDefault("type", "").toUpperCase(Locale.ROOT));
            String ms = message.getId().substring(0, message.getId().indexOf('-'));
            event = new SessionEvent(type, body.get("session"), emptyToNull(body.get("user")),
                    emptyToNull(body.get("project")), Long.parseLong(body.getOrDefault("version", "-1")),
                    RedisStorageProvider.NAME, Instant.ofEpochMilli(Long.parseLong(ms)),
                    source.eventId(stream, message.getId()));
        } catch (RuntimeException e) {
            LOG.warn("[redis] skipping malformed event {} in {}: {}", message.getId(), stream, e.toString());
            acknowledge(stream, message.getId());
            return;
        }
        try {
            SessionListener.deliver(listener, event);
        } catch (RuntimeException e) {
            // left pending: redelivered when this consumer starts again, or claimed by another
            LOG.warn("[redis] session listener failed on event {} ({} of session {}); it stays pending: {}",
                    message.getId(), event.type(), event.sessionId(), e.toString());
            return;
        }
        acknowledge(stream, message.getId());
        delivered.incrementAndGet();
    }

    /**
     * Acknowledges an event without waiting for the reply (the next read does not wait for it); an
     * acknowledgement lost (the connection breaks, the process dies first) leaves the event pending,
     * to be delivered again. {@link #close()} waits for those in flight.
     */
    private void acknowledge(String stream, String entryId) {
        acksInFlight.incrementAndGet();
        source.ack(stream, group, entryId).whenComplete((n, failure) -> {
            acksInFlight.decrementAndGet();
            if (failure != null) {
                LOG.debug("[redis] acknowledging event {} of {} failed; it stays pending: {}", entryId, stream,
                        failure.toString());
            }
        });
    }

    /** {@code XAUTOCLAIM}'s cursor for the next call: from the start again when the scan went round. */
    static String nextClaimFrom(String cursor) {
        return cursor == null || cursor.equals("0-0") ? "0" : cursor;
    }

    private static String emptyToNull(String value) {
        return value == null || value.isEmpty() ? null : value;
    }

    private static void sleep() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops reading (events being delivered finish first, for up to 5 s; acknowledgements sent are
     * waited for, up to 2 s more) and closes the connections.
     */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(5_000);
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (acksInFlight.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(5); // acknowledgements sent, not yet answered
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        source.close();
    }

    /** The one stream of a standalone or Sentinel store, {@code <namespace>:events}. */
    private static final class StreamSource implements Source {
        private final RedisClient client;
        private final StatefulRedisConnection<String, String> connection;
        private final RedisCommands<String, String> commands;
        private final String stream;
        private final Consumer<String> me;
        private final Duration claimIdleAfter;
        /** First this consumer's own pending events (a restart after a crash), then {@code null}. */
        private String pendingFrom = "0";
        private long lastClaim;
        /** Where the next claim continues in the pending entries ({@code XAUTOCLAIM}'s cursor). */
        private String claimFrom = "0";

        StreamSource(RedisURI uri, String namespace, String group, String consumer, Duration claimIdleAfter,
                boolean fromStart) {
            this.stream = RedisSessionStorage.eventStreamKey(namespace);
            this.me = Consumer.from(group, consumer);
            this.claimIdleAfter = claimIdleAfter;
            this.client = RedisClient.create(uri);
            try {
                this.connection = client.connect(StringCodec.UTF8);
                this.commands = connection.sync();
                try {
                    commands.xgroupCreate(XReadArgs.StreamOffset.from(stream, fromStart ? "0" : "$"), group,
                            XGroupCreateArgs.Builder.mkstream());
                } catch (RedisBusyException e) {
                    // the group exists: join it where it is
                }
            } catch (RuntimeException e) {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
                throw e;
            }
        }

        @Override
        @SuppressWarnings("unchecked") // Lettuce's xreadgroup takes StreamOffset<K>... : one offset here
        public void poll(Sink sink) {
            if (pendingFrom != null) {
                List<StreamMessage<String, String>> pending = commands.xreadgroup(me, XReadArgs.Builder.count(100),
                        XReadArgs.StreamOffset.from(stream, pendingFrom));
                if (pending.isEmpty()) {
                    pendingFrom = null;
                } else {
                    pending.forEach(message -> sink.take(stream, message));
                    pendingFrom = pending.get(pending.size() - 1).getId();
                }
                return;
            }
            if (System.nanoTime() - lastClaim > claimIdleAfter.toNanos() / 2 || lastClaim == 0) {
                lastClaim = System.nanoTime();
                var claimed = commands.xautoclaim(stream, XAutoClaimArgs.Builder.xautoclaim(me, claimIdleAfter,
                        claimFrom).count(100));
                // on from the cursor next time: a page of entries trimmed away (which Redis 6.2 leaves
                // pending and returns empty) does not hide the entries after it
                claimFrom = nextClaimFrom(claimed.getId());
                claimed.getMessages().forEach(message -> sink.take(stream, message));
            }
            commands.xreadgroup(me, XReadArgs.Builder.count(100).block(Duration.ofMillis(500)),
                    XReadArgs.StreamOffset.lastConsumed(stream)).forEach(message -> sink.take(stream, message));
        }

        @Override
        public io.lettuce.core.RedisFuture<Long> ack(String stream, String group, String entryId) {
            return connection.async().xack(stream, group, entryId);
        }

        @Override
        public String eventId(String stream, String entryId) {
            return entryId;
        }

        @Override
        public void close() {
            connection.close();
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
