package io.sessionbuddy.redis;

import io.lettuce.core.RedisURI;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code redis} backend's provider (legacy {@code acb} with {@code cache_type: redis} maps to
 * it). Settings: {@code uri}, or {@code host}/{@code port}/{@code username}/{@code password}/
 * {@code db}/{@code ssl}/{@code ca_file}; {@code cluster} and {@code cluster_nodes}; {@code timeout};
 * {@code wait_for_replicas}; {@code event_stream} (default false) and {@code event_stream_max_length}
 * (default 100000): session events appended to the stream {@code <namespace>:events} (in Redis
 * Cluster to one stream per slot, see {@link RedisSessionStorage#eventStreamKey(String, int)});
 * {@code namespace} (or the original's {@code key_prefix}).
 */
public final class RedisStorageProvider implements StorageProvider {
    /** The provider name. */
    public static final String NAME = "redis";

    /** Used by {@link java.util.ServiceLoader}. */
    public RedisStorageProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        Duration timeout = settings.getDuration("timeout", RedisSessionStorage.DEFAULT_TIMEOUT);
        if (timeout.isZero()) {
            throw settings.error("timeout", "must be positive");
        }
        RedisSessionStorage.Builder builder = RedisSessionStorage.builder()
                .namespace(namespace(settings))
                .timeout(timeout)
                .defaultTtl(settings.defaultTtl())
                .clock(settings.clock())
                .storedFormat(settings.storedFormat());
        settings.getString("ca_file").ifPresent(file -> {
            java.nio.file.Path path = java.nio.file.Path.of(file);
            if (!java.nio.file.Files.isReadable(path)) {
                throw settings.error("ca_file", "is not a readable file: " + file);
            }
            builder.trustedCertificates(path);
        });
        int replicas = settings.getInt("wait_for_replicas", 0);
        if (replicas < 0 || replicas > 16) {
            throw settings.error("wait_for_replicas", "must be from 0 to 16, was " + replicas);
        }
        builder.waitForReplicas(replicas);
        boolean events = settings.getBoolean("event_stream", false);
        long eventsMax = settings.getLong("event_stream_max_length", RedisSessionStorage.DEFAULT_EVENT_STREAM_MAX_LENGTH);
        if (eventsMax < 1) {
            throw settings.error("event_stream_max_length", "must be positive, was " + eventsMax);
        }
        builder.eventStream(events, eventsMax);
        boolean nearCache = nearCache(settings, builder);
        RedisURI base = baseUri(settings, timeout);
        List<String> nodes = settings.getStringList("cluster_nodes");
        boolean cluster = settings.getBoolean("cluster", !nodes.isEmpty());
        if (cluster && nearCache) {
            throw settings.error("near_cache", "is for standalone and Sentinel Redis: in Redis Cluster invalidations"
                    + " would have to be tracked on every node's connection, which this version does not do");
        }
        if (cluster && replicas > 0) {
            throw settings.error("wait_for_replicas", "is for standalone and Sentinel; a Redis Cluster write is not"
                    + " waited for");
        }
        if (cluster) {
            List<RedisURI> seeds = new ArrayList<>();
            if (nodes.isEmpty()) {
                seeds.add(base);
            }
            for (String node : nodes) {
                seeds.add(nodeUri(settings, base, node));
            }
            builder.clusterNodes(seeds);
        } else {
            builder.uri(base);
        }
        return builder.build();
    }

    /**
     * {@code near_cache: {enabled, maximum_size, maximum_age}}, or {@code near_cache: true} for the
     * defaults (an environment override is a string); {@code true} when it is on.
     */
    private static boolean nearCache(BackendSettings settings, RedisSessionStorage.Builder builder) {
        if (!settings.has("near_cache")) {
            return false;
        }
        Optional<BackendSettings> block;
        try {
            block = settings.section("near_cache");
        } catch (io.sessionbuddy.core.SessionConfigException notABlock) {
            if (!settings.getBoolean("near_cache", false)) {
                return false;
            }
            builder.nearCache(RedisSessionStorage.DEFAULT_NEAR_CACHE_MAXIMUM_SIZE,
                    RedisSessionStorage.DEFAULT_NEAR_CACHE_MAXIMUM_AGE);
            return true;
        }
        BackendSettings near = block.orElseThrow();
        boolean enabled = near.getBoolean("enabled", true);
        long size = near.getLong("maximum_size", RedisSessionStorage.DEFAULT_NEAR_CACHE_MAXIMUM_SIZE);
        if (size < 1) {
            throw near.error("maximum_size", "must be positive, was " + size);
        }
        Duration age = near.getDuration("maximum_age", RedisSessionStorage.DEFAULT_NEAR_CACHE_MAXIMUM_AGE);
        if (age.isZero()) {
            throw near.error("maximum_age", "must be positive");
        }
        near.requireAllRead();
        if (enabled) {
            builder.nearCache(size, age);
        }
        return enabled;
    }

    private static String namespace(BackendSettings settings) {
        Optional<String> namespace = settings.getString("namespace");
        Optional<String> keyPrefix = settings.getString("key_prefix");
        if (namespace.isPresent() && keyPrefix.isPresent()) {
            throw settings.error("key_prefix", "give either namespace or key_prefix, not both");
        }
        String value = namespace.orElseGet(() -> keyPrefix.map(p -> p.endsWith(":") ? p.substring(0, p.length() - 1) : p)
                .orElse(RedisSessionStorage.DEFAULT_NAMESPACE));
        if (!RedisSessionStorage.isValidNamespace(value)) {
            throw settings.error(namespace.isPresent() ? "namespace" : "key_prefix",
                    "must match [A-Za-z0-9._-]{1,64} (a trailing ':' is allowed in key_prefix), was \"" + value + "\"");
        }
        return value;
    }

    static RedisURI baseUri(BackendSettings settings, Duration timeout) {
        RedisURI uri;
        Optional<String> text = settings.getString("uri");
        if (text.isPresent()) {
            try {
                uri = RedisURI.create(text.get());
            } catch (IllegalArgumentException e) {
                // The message of a URI parse error may contain the URI and so a password: not shown.
                throw settings.error("uri", "is not a valid redis://, rediss:// or redis-sentinel:// URI");
            }
            if (settings.has("host") || settings.has("port")) {
                throw settings.error("host", "give either uri or host/port, not both");
            }
        } else {
            int port = settings.getInt("port", RedisURI.DEFAULT_REDIS_PORT);
            if (port < 1 || port > 65535) {
                throw settings.error("port", "must be from 1 to 65535, was " + port);
            }
            uri = RedisURI.builder().withHost(settings.getString("host", "localhost")).withPort(port).build();
        }
        int db = settings.getInt("db", uri.getDatabase());
        if (db < 0) {
            throw settings.error("db", "must not be negative, was " + db);
        }
        uri.setDatabase(db);
        if (settings.has("ssl")) {
            uri.setSsl(settings.getBoolean("ssl", false));
        }
        Optional<String> password = settings.getString("password");
        Optional<String> username = settings.getString("username");
        if (password.isPresent()) {
            if (username.isPresent()) {
                uri.setAuthentication(username.get(), password.get().toCharArray());
            } else {
                uri.setAuthentication(password.get().toCharArray());
            }
        } else if (username.isPresent()) {
            throw settings.error("username", "needs a password");
        }
        uri.setTimeout(timeout);
        return uri;
    }

    private static RedisURI nodeUri(BackendSettings settings, RedisURI base, String node) {
        int colon = node.lastIndexOf(':');
        int port;
        try {
            port = colon < 0 ? RedisURI.DEFAULT_REDIS_PORT : Integer.parseInt(node.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw settings.error("cluster_nodes", "expected host:port entries, was \"" + node + "\"");
        }
        RedisURI uri = RedisURI.builder().withHost(colon < 0 ? node : node.substring(0, colon)).withPort(port)
                .withSsl(base.isSsl()).withTimeout(base.getTimeout()).build();
        uri.applyAuthentication(base);
        return uri;
    }
}
