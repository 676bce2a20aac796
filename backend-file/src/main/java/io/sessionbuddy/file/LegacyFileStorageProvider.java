package io.sessionbuddy.file;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;

/**
 * The provider {@code legacy-file}: the original Python store's local files, read-only, to migrate
 * from. Setting: {@code directory} (the original's {@code storage_dir}, required). Without a
 * {@code legacy-file} block the original file's {@code local} (or {@code file}) block is used.
 */
public final class LegacyFileStorageProvider implements StorageProvider {
    /** Used by {@link java.util.ServiceLoader}. */
    public LegacyFileStorageProvider() {
    }

    @Override
    public String name() {
        return LegacyFileSessionStorage.NAME;
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        java.nio.file.Path directory = settings.getPath("directory", null);
        if (directory == null) {
            throw settings.error("directory", "is required: the original store's storage_dir");
        }
        java.time.ZoneId zone = settings.getZoneId("source_timezone", java.time.ZoneOffset.UTC);
        return new LegacyFileSessionStorage(directory, settings.defaultTtl(), settings.clock(), settings.storedFormat())
                .sourceTimezone(zone);
    }
}
