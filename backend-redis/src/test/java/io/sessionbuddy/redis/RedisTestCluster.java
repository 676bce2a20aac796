package io.sessionbuddy.redis;

import io.lettuce.core.RedisURI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * A real 3-master Redis Cluster on loopback, formed with CLUSTER ADDSLOTS and CLUSTER MEET (public
 * for the benchmarks).
 */
public final class RedisTestCluster implements AutoCloseable {
    private final List<RedisTestServer> nodes = new ArrayList<>();

    /**
     * Starts three masters and forms the cluster.
     *
     * @return the running cluster; close it
     */
    public static RedisTestCluster start() {
        RedisTestCluster cluster = new RedisTestCluster();
        try {
            for (int i = 0; i < 3; i++) {
                cluster.nodes.add(RedisTestServer.start("--cluster-enabled", "yes", "--cluster-config-file",
                        "nodes.conf", "--cluster-node-timeout", "2000"));
            }
            int slotsPerNode = 16384 / 3;
            for (int i = 0; i < 3; i++) {
                int from = i * slotsPerNode;
                int to = i == 2 ? 16383 : from + slotsPerNode - 1;
                int[] slots = IntStream.rangeClosed(from, to).toArray();
                cluster.nodes.get(i).withCommands(c -> c.clusterAddSlots(slots));
            }
            RedisTestServer first = cluster.nodes.get(0);
            for (int i = 1; i < 3; i++) {
                int port = cluster.nodes.get(i).port();
                first.withCommands(c -> c.clusterMeet("127.0.0.1", port));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!cluster.isReady()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the 3-node Redis Cluster did not reach cluster_state:ok in 30 s");
                }
                RedisTestServer.sleep(100);
            }
            return cluster;
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    private boolean isReady() {
        for (RedisTestServer node : nodes) {
            String info = node.withCommands(c -> c.clusterInfo());
            String known = node.withCommands(c -> c.clusterNodes());
            if (!info.contains("cluster_state:ok") || known.lines().count() < 3) {
                return false;
            }
        }
        return true;
    }

    /** The master that serves {@code slot} as the cluster was formed (slots in three even runs). */
    RedisTestServer ownerOf(int slot) {
        return nodes.get(Math.min(2, slot / (16384 / 3)));
    }

    /** The masters, in the order their slot runs come. */
    List<RedisTestServer> nodes() {
        return List.copyOf(nodes);
    }

    /**
     * The masters' addresses.
     *
     * @return one URI per master
     */
    public List<RedisURI> seeds() {
        return nodes.stream().map(RedisTestServer::uri).toList();
    }

    /** Stops the masters. */
    @Override
    public void close() {
        nodes.forEach(RedisTestServer::close);
    }
}
