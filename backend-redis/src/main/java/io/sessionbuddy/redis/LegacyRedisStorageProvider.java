package io.sessionbuddy.redis;

import io.lettuce.core.RedisURI;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;
import java.time.Duration;

/**
 * The provider {@code legacy-redis}: the original Python store's Redis layout, read-only, to migrate
 * from. Settings as for {@code redis} (uri or host/port/db/username/password/ssl, timeout) plus the
 * original's {@code key_prefix} (default {@code session_mgmt:}). Without a {@code legacy-redis}
 * block the original file's {@code redis} block is used, so the original config file works as is.
 */
public final class LegacyRedisStorageProvider implements StorageProvider {
    /** Used by {@link java.util.ServiceLoader}. */
    public LegacyRedisStorageProvider() {
    }

    @Override
    public String name() {
        return LegacyRedisSessionStorage.NAME;
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        Duration timeout = settings.getDuration("timeout", RedisSessionStorage.DEFAULT_TIMEOUT);
        if (timeout.isZero()) {
            throw settings.error("timeout", "must be positive");
        }
        String prefix = settings.getString("key_prefix", LegacyRedisSessionStorage.DEFAULT_KEY_PREFIX);
        RedisURI uri = RedisStorageProvider.baseUri(settings, timeout);
        java.time.ZoneId zone = settings.getZoneId("source_timezone", java.time.ZoneOffset.UTC);
        return LegacyRedisSessionStorage.open(uri, null, prefix, settings.defaultTtl(), settings.clock(),
                settings.storedFormat()).sourceTimezone(zone);
    }
}
