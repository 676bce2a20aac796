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
 * <pre>{@code
 * try (RedisSessionEventConsumer consumer = RedisSessionEventConsumer.start(RedisURI.create("redis://localhost"),
 *         "sessions", "billing", "billing-1", listener)) { ... }
 * }</pre>
 */
public final class RedisSessionEventConsumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisSessionEventConsumer.class);

    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final RedisCommands<String, String> commands;
    private final String stream;
    private final String group;
    private final String consumer;
    private final SessionListener listener;
    private final Duration claimIdleAfter;
    private final Thread thread;
    private final AtomicLong delivered = new AtomicLong();
    private volatile boolean running = true;

    private RedisSessionEventConsumer(RedisURI uri, String namespace, String group, String consumer,
            SessionListener listener, Duration claimIdleAfter, boolean fromStart) {
        this.stream = RedisSessionStorage.eventStreamKey(namespace);
        this.group = group;
        this.consumer = consumer;
        this.listener = listener;
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
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(consumer, "consumer");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(claimIdleAfter, "claimIdleAfter");
        return new RedisSessionEventConsumer(uri, namespace, group, consumer, listener, claimIdleAfter, fromStart);
    }

    /**
     * Events delivered to the listener and acknowledged so far.
     *
     * @return the count since this consumer started
     */
    public long delivered() {
        return delivered.get();
    }

    @SuppressWarnings("unchecked") // Lettuce's xreadgroup takes StreamOffset<K>... : one offset here
    private void run() {
        Consumer<String> me = Consumer.from(group, consumer);
        String pendingFrom = "0"; // first this consumer's own pending events (a restart after a crash)
        long lastClaim = 0;
        while (running) {
            try {
                if (pendingFrom != null) {
                    List<StreamMessage<String, String>> pending = commands.xreadgroup(me, XReadArgs.Builder.count(100),
                            XReadArgs.StreamOffset.from(stream, pendingFrom));
                    if (pending.isEmpty()) {
                        pendingFrom = null;
                    } else {
                        for (StreamMessage<String, String> message : pending) {
                            deliver(message);
                        }
                        pendingFrom = pending.get(pending.size() - 1).getId();
                    }
                    continue;
                }
                if (System.nanoTime() - lastClaim > claimIdleAfter.toNanos() / 2 || lastClaim == 0) {
                    lastClaim = System.nanoTime();
                    var claimed = commands.xautoclaim(stream, XAutoClaimArgs.Builder.xautoclaim(me,
                            claimIdleAfter, "0").count(100));
                    for (StreamMessage<String, String> message : claimed.getMessages()) {
                        deliver(message);
                    }
                }
                List<StreamMessage<String, String>> fresh = commands.xreadgroup(me,
                        XReadArgs.Builder.count(100).block(Duration.ofMillis(500)),
                        XReadArgs.StreamOffset.lastConsumed(stream));
                for (StreamMessage<String, String> message : fresh) {
                    deliver(message);
                }
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                LOG.warn("[redis] reading session events of {} (group {}) failed; retrying in 1 s: {}", stream, group,
                        e.toString());
                sleep();
            }
        }
    }

    private void deliver(StreamMessage<String, String> message) {
        if (!running) {
            return;
        }
        Map<String, String> body = message.getBody();
        SessionEvent event;
        try {
            SessionEvent.Type type = SessionEvent.Type.valueOf(body.getOrDefault("type", "").toUpperCase(
                    java.util.Locale.ROOT));
            String ms = message.getId().substring(0, message.getId().indexOf('-'));
            event = new SessionEvent(type, body.get("session"), emptyToNull(body.get("user")),
                    emptyToNull(body.get("project")), Long.parseLong(body.getOrDefault("version", "-1")),
                    RedisStorageProvider.NAME, Instant.ofEpochMilli(Long.parseLong(ms)), message.getId());
        } catch (RuntimeException e) {
            LOG.warn("[redis] skipping malformed event {} in {}: {}", message.getId(), stream, e.toString());
            commands.xack(stream, group, message.getId());
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
        commands.xack(stream, group, message.getId());
        delivered.incrementAndGet();
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

    /** Stops reading (events being delivered finish first, for up to 5 s) and closes the connection. */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
