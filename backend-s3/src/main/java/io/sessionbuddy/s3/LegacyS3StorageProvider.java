package io.sessionbuddy.s3;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;

/**
 * The provider {@code legacy-s3}: the original Python store's S3 objects, read-only, to migrate
 * from. Settings as for {@code s3} ({@code bucket} — the original's {@code bucket_name}, default
 * {@code session-mgmt-mcp} — region, endpoint, path_style, credentials, timeout, max_attempts) plus
 * the original's {@code key_prefix} (default {@code sessions/}). Without a {@code legacy-s3} block
 * the original file's {@code s3} block is used.
 */
public final class LegacyS3StorageProvider implements StorageProvider {
    /** Used by {@link java.util.ServiceLoader}. */
    public LegacyS3StorageProvider() {
    }

    @Override
    public String name() {
        return LegacyS3SessionStorage.NAME;
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        String bucket = settings.getString("bucket", "session-mgmt-mcp");
        String prefix = settings.getString("key_prefix", LegacyS3SessionStorage.DEFAULT_KEY_PREFIX);
        java.time.ZoneId zone = settings.getZoneId("source_timezone", java.time.ZoneOffset.UTC);
        return new LegacyS3SessionStorage(S3StorageProvider.client(settings), true, bucket, prefix,
                settings.defaultTtl(), settings.clock(), settings.storedFormat()).sourceTimezone(zone);
    }
}
