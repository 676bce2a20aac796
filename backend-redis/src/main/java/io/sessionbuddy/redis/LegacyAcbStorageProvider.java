package io.sessionbuddy.redis;

import io.lettuce.core.RedisURI;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;
import java.time.Duration;
import java.util.Locale;

/**
 * The provider {@code legacy-acb}: the seed's {@code acb} storage with {@code cache_type: redis}
 * (aiocache, pickled values), read-only, to migrate from. It takes the original's {@code acb} block
 * as is ({@code cache_type}, {@code host}, {@code port}, {@code namespace}, default {@code session};
 * {@code ttl_seconds} is accepted and not used, the keys' own TTLs are read), plus the {@code redis}
 * connection settings ({@code uri}, {@code db}, {@code username}, {@code password}, {@code ssl},
 * {@code timeout}) and {@code source_timezone}. Without a {@code legacy-acb} block the file's
 * {@code acb} block is used.
 */
public final class LegacyAcbStorageProvider implements StorageProvider {
    /** Used by {@link java.util.ServiceLoader}. */
    public LegacyAcbStorageProvider() {
    }

    @Override
    public String name() {
        return LegacyAcbSessionStorage.NAME;
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        String cacheType = settings.getString("cache_type", "redis").trim().toLowerCase(Locale.ROOT);
        if (cacheType.equals("memory")) {
            throw settings.error("cache_type", "is \"memory\": the seed's memory cache did not outlive its process,"
                    + " there is nothing to migrate");
        }
        if (!cacheType.equals("redis")) {
            throw settings.error("cache_type", "must be \"redis\", was \"" + cacheType + "\"");
        }
        settings.has("ttl_seconds"); // the original's setting; each key's own TTL is what is read
        Duration timeout = settings.getDuration("timeout", RedisSessionStorage.DEFAULT_TIMEOUT);
        if (timeout.isZero()) {
            throw settings.error("timeout", "must be positive");
        }
        String namespace = settings.getString("namespace", LegacyAcbSessionStorage.DEFAULT_NAMESPACE);
        if (namespace.isEmpty()) {
            throw settings.error("namespace", "must not be empty");
        }
        RedisURI uri = RedisStorageProvider.baseUri(settings, timeout);
        java.time.ZoneId zone = settings.getZoneId("source_timezone", java.time.ZoneOffset.UTC);
        return LegacyAcbSessionStorage.open(uri, null, namespace, settings.defaultTtl(), settings.clock(),
                settings.storedFormat()).sourceTimezone(zone);
    }
}
