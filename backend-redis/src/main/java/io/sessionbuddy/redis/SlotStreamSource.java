package io.sessionbuddy.redis;

import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAutoClaimArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisAdvancedClusterAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The events of a store in Redis Cluster: one stream per hash slot
 * ({@link RedisSessionStorage#eventStreamKey(String, int)}), each with its own copy of the consumer
 * group. Waits on the bell stream ({@link RedisSessionStorage#eventBellKey}) for the slots written
 * to, and reads every slot at the sweep interval; the commands of many slots are sent together
 * (pipelined on the nodes' connections), at most {@value #BATCH} at a time.
 */
final class SlotStreamSource implements RedisSessionEventConsumer.Source {
    private static final Logger LOG = LoggerFactory.getLogger(SlotStreamSource.class);
    private static final int SLOTS = SlotHash.SLOT_COUNT;
    /** Slots whose commands are in flight together. */
    static final int BATCH = 1024;
    /** Entries read from one slot stream per command. */
    private static final int COUNT = 100;
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final RedisClusterClient client;
    private final StatefulRedisClusterConnection<String, String> connection;
    /** A connection of its own for the bell's blocking read, which holds its node connection while it waits. */
    private final StatefulRedisClusterConnection<String, String> bellConnection;
    private final RedisAdvancedClusterAsyncCommands<String, String> async;
    private final String namespace;
    private final String group;
    private final Consumer<String> me;
    private final Duration claimIdleAfter;
    private final long sweepNanos;
    private final String bell;
    /** Where the group starts in a slot stream this consumer creates it in. */
    private final String groupStart;
    /** Slots whose stream exists and has the group. */
    private final BitSet known = new BitSet(SLOTS);
    /** Per slot, while this consumer's own pending events there are being read again: the last read. */
    private final String[] pendingFrom = new String[SLOTS];
    /** Per slot, where the next claim continues in the pending entries ({@code XAUTOCLAIM}'s cursor). */
    private final String[] claimFrom = new String[SLOTS];
    private String bellFrom;
    private long lastSweep;
    private long lastClaim;
    private volatile boolean swept;

    SlotStreamSource(List<RedisURI> seeds, String namespace, String group, String consumer, Duration claimIdleAfter,
            Duration sweepEvery, boolean fromStart) {
        this.namespace = namespace;
        this.group = group;
        this.me = Consumer.from(group, consumer);
        this.claimIdleAfter = claimIdleAfter;
        this.sweepNanos = sweepEvery.toNanos();
        this.bell = RedisSessionStorage.eventBellKey(namespace);
        this.client = RedisClusterClient.create(seeds);
        client.setOptions(ClusterClientOptions.builder().autoReconnect(true)
                .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                        .enablePeriodicRefresh(Duration.ofSeconds(30)).build())
                .build());
        StatefulRedisClusterConnection<String, String> commandConnection = null;
        try {
            commandConnection = client.connect(StringCodec.UTF8);
            commandConnection.setTimeout(TIMEOUT);
            this.connection = commandConnection;
            this.async = connection.async();
            this.bellConnection = client.connect(StringCodec.UTF8);
            this.groupStart = groupStart(fromStart);
            // bells from here on; the first sweep reads everything before
            List<StreamMessage<String, String>> last = connection.sync().xrevrange(bell, Range.create("-", "+"),
                    Limit.from(1));
            this.bellFrom = last.isEmpty() ? "0-0" : last.get(0).getId();
        } catch (RuntimeException e) {
            if (commandConnection != null) {
                commandConnection.close();
            }
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            throw e;
        }
    }

    /**
     * The group's start mark ({@code <namespace>:events:group:<group>}): set by its first consumer
     * to one second before the cluster's time (a margin for the nodes' clocks), or to the streams'
     * start with {@code fromStart}; read by every later one.
     */
    private String groupStart(boolean fromStart) {
        var sync = connection.sync();
        String mark = RedisSessionStorage.eventGroupKey(namespace, group);
        String proposed = "0-0";
        if (!fromStart) {
            List<String> time = sync.time();
            long millis = Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
            proposed = (millis - 1000) + "-0";
        }
        var unused = sync.set(mark, proposed, io.lettuce.core.SetArgs.Builder.nx()); // null when set before
        String start = sync.get(mark);
        return start == null ? proposed : start;
    }

    @Override
    public void poll(RedisSessionEventConsumer.Sink sink) {
        long now = System.nanoTime();
        if (!swept || now - lastSweep >= sweepNanos) {
            lastSweep = now;
            BitSet all = new BitSet(SLOTS);
            all.set(0, SLOTS);
            read(all, sink);
            swept = true;
            LOG.debug("[redis] swept the event streams of {} slots (group {}) in {} ms", known.cardinality(), group,
                    (System.nanoTime() - now) / 1_000_000);
        }
        if (lastClaim == 0 || now - lastClaim >= claimIdleAfter.toNanos() / 2) {
            lastClaim = now;
            claim(sink);
        }
        @SuppressWarnings("unchecked") // one offset
        List<StreamMessage<String, String>> rung = bellConnection.sync().xread(
                XReadArgs.Builder.count(1000).block(Duration.ofMillis(500)), XReadArgs.StreamOffset.from(bell, bellFrom));
        if (rung.isEmpty()) {
            return;
        }
        BitSet slots = new BitSet(SLOTS);
        for (StreamMessage<String, String> entry : rung) {
            try {
                int slot = Integer.parseInt(String.valueOf(entry.getBody().get("slot")));
                if (slot >= 0 && slot < SLOTS) {
                    slots.set(slot);
                }
            } catch (NumberFormatException e) {
                LOG.debug("[redis] ignoring bell entry {} of {} without a slot", entry.getId(), bell);
            }
        }
        read(slots, sink);
        bellFrom = rung.get(rung.size() - 1).getId(); // after the read: a failed one reads these bells again
    }

    /** Reads the new events (and this consumer's own pending ones, first) of {@code slots}' streams. */
    private void read(BitSet slots, RedisSessionEventConsumer.Sink sink) {
        BitSet unknown = (BitSet) slots.clone();
        unknown.andNot(known);
        discover(unknown);
        BitSet todo = (BitSet) slots.clone();
        todo.and(known);
        while (!todo.isEmpty()) {
            BitSet again = new BitSet(SLOTS);
            for (int[] batch : batches(todo)) {
                List<RedisFuture<List<StreamMessage<String, String>>>> reads = new ArrayList<>(batch.length);
                for (int slot : batch) {
                    String from = pendingFrom[slot] != null ? pendingFrom[slot] : ">";
                    reads.add(readGroup(slot, from));
                }
                for (int i = 0; i < batch.length; i++) {
                    int slot = batch[i];
                    List<StreamMessage<String, String>> messages = await(reads.get(i), slot);
                    if (messages == null) {
                        continue;
                    }
                    String stream = stream(slot);
                    messages.forEach(message -> sink.take(stream, message));
                    if (pendingFrom[slot] != null) {
                        // own pending events: on until none is left, then the new ones
                        pendingFrom[slot] = messages.isEmpty() ? null : messages.get(messages.size() - 1).getId();
                        again.set(slot);
                    } else if (messages.size() == COUNT) {
                        again.set(slot);
                    }
                }
            }
            again.and(known);
            todo = again;
        }
    }

    @SuppressWarnings("unchecked") // one offset
    private RedisFuture<List<StreamMessage<String, String>>> readGroup(int slot, String from) {
        return async.xreadgroup(me, XReadArgs.Builder.count(COUNT), XReadArgs.StreamOffset.from(stream(slot), from));
    }

    /**
     * Finds which of {@code slots} have a stream now and creates the group in each at its start
     * mark (or joins it where it is); those become known, their own pending events read first.
     */
    private void discover(BitSet slots) {
        for (int[] batch : batches(slots)) {
            List<RedisFuture<Long>> exists = new ArrayList<>(batch.length);
            for (int slot : batch) {
                exists.add(async.exists(stream(slot)));
            }
            List<Integer> found = new ArrayList<>();
            List<java.util.concurrent.CompletableFuture<String>> creates = new ArrayList<>();
            for (int i = 0; i < batch.length; i++) {
                Long n = await(exists.get(i), batch[i]);
                if (n != null && n > 0) {
                    found.add(batch[i]);
                    creates.add(async.xgroupCreate(XReadArgs.StreamOffset.from(stream(batch[i]), groupStart), group)
                            .toCompletableFuture().exceptionally(SlotStreamSource::joinExisting));
                }
            }
            for (int i = 0; i < found.size(); i++) {
                int slot = found.get(i);
                if (await(creates.get(i), slot) != null) {
                    known.set(slot);
                    pendingFrom[slot] = "0";
                }
            }
        }
    }

    /** {@code BUSYGROUP}: the group exists in that stream already, join it where it is. */
    private static String joinExisting(Throwable failure) {
        Throwable cause = RedisSessionStorage.causeOf(failure);
        if (cause instanceof RedisBusyException) {
            return "OK";
        }
        throw failure instanceof java.util.concurrent.CompletionException c ? c
                : new java.util.concurrent.CompletionException(cause);
    }

    /** Takes over the events pending at other consumers (or this one) longer than the claim time. */
    private void claim(RedisSessionEventConsumer.Sink sink) {
        for (int[] batch : batches(known)) {
            List<RedisFuture<io.lettuce.core.models.stream.ClaimedMessages<String, String>>> claims =
                    new ArrayList<>(batch.length);
            for (int slot : batch) {
                String from = claimFrom[slot] == null ? "0" : claimFrom[slot];
                claims.add(async.xautoclaim(stream(slot), XAutoClaimArgs.Builder.xautoclaim(me, claimIdleAfter, from)
                        .count(COUNT)));
            }
            for (int i = 0; i < batch.length; i++) {
                var claimed = await(claims.get(i), batch[i]);
                if (claimed != null) {
                    claimFrom[batch[i]] = RedisSessionEventConsumer.nextClaimFrom(claimed.getId());
                    String stream = stream(batch[i]);
                    claimed.getMessages().forEach(message -> sink.take(stream, message));
                }
            }
        }
    }

    /**
     * The reply of a slot's command, or {@code null} when Redis refused it for that slot alone
     * ({@code NOGROUP}: the stream or group was removed, found again by a later sweep; any other
     * error is logged). A connection failure or timeout is thrown: the poll is retried.
     */
    private <T> T await(java.util.concurrent.Future<T> future, int slot) {
        try {
            return future.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            rethrowOrSkip(e.getCause(), slot);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (TimeoutException e) {
            throw new io.lettuce.core.RedisCommandTimeoutException("no reply from the node of " + stream(slot) + " in "
                    + TIMEOUT.toSeconds() + " s");
        }
    }

    private void rethrowOrSkip(Throwable failure, int slot) {
        if (!(failure instanceof RedisCommandExecutionException)) {
            throw failure instanceof RuntimeException r ? r : new IllegalStateException(failure);
        }
        known.clear(slot);
        pendingFrom[slot] = null;
        String message = String.valueOf(failure.getMessage());
        if (!message.startsWith("NOGROUP")) {
            LOG.warn("[redis] reading session events of {} (group {}) failed; the next sweep tries again: {}",
                    stream(slot), group, message);
        }
    }

    /** The set slots, in runs of at most {@value #BATCH}. */
    private static List<int[]> batches(BitSet slots) {
        int[] all = slots.stream().toArray();
        List<int[]> out = new ArrayList<>();
        for (int from = 0; from < all.length; from += BATCH) {
            out.add(java.util.Arrays.copyOfRange(all, from, Math.min(all.length, from + BATCH)));
        }
        return out;
    }

    private String stream(int slot) {
        return RedisSessionStorage.eventStreamKey(namespace, slot);
    }

    @Override
    public boolean caughtUp() {
        return swept;
    }

    @Override
    public RedisFuture<Long> ack(String stream, String group, String entryId) {
        return async.xack(stream, group, entryId);
    }

    /** Entry ids are unique within one stream only: the slot goes first, {@code <slot>:<entry id>}. */
    @Override
    public String eventId(String stream, String entryId) {
        return SlotHash.getSlot(stream) + ":" + entryId;
    }

    @Override
    public void close() {
        bellConnection.close();
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
