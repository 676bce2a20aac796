package io.sessionbuddy.file;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;
import java.nio.file.Path;
import java.util.Set;

/**
 * The provider {@code legacy-adapter}: the storage adapter layout of the original's newer versions
 * ({@code <data_dir>/sessions/<id>/state.json}), read-only, to migrate from. Setting:
 * {@code data_dir} (default {@code ~/.claude/data}, the original's default; a relative value is
 * under the home directory, as the original resolved it).
 */
public final class LegacyAdapterStorageProvider implements StorageProvider {
    /** The original's default {@code data_dir}, under the home directory. */
    public static final String DEFAULT_DATA_DIR = ".claude/data";

    /** Used by {@link java.util.ServiceLoader}. */
    public LegacyAdapterStorageProvider() {
    }

    @Override
    public String name() {
        return LegacyFileSessionStorage.ADAPTER_NAME;
    }

    @Override
    public Set<String> knownKeys() {
        return Set.of("data_dir", "source_timezone");
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        Path home = Path.of(System.getProperty("user.home"));
        Path dataDir = settings.getPath("data_dir", home.resolve(DEFAULT_DATA_DIR));
        if (!dataDir.isAbsolute()) {
            dataDir = home.resolve(dataDir);
        }
        java.time.ZoneId zone = settings.getZoneId("source_timezone", java.time.ZoneOffset.UTC);
        return LegacyFileSessionStorage.adapterLayout(dataDir, settings.defaultTtl(), settings.clock(),
                settings.storedFormat()).sourceTimezone(zone);
    }
}
