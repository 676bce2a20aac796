package io.sessionbuddy.memory;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;

/**
 * The {@code memory} backend's provider. Settings: {@code maximum_size} (default 100000),
 * {@code namespace} (accepted for symmetry with the other backends; each memory store is private).
 */
public final class MemoryStorageProvider implements StorageProvider {
    /** The provider name. */
    public static final String NAME = "memory";

    /** Used by {@link java.util.ServiceLoader}. */
    public MemoryStorageProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        long maximumSize = settings.getLong("maximum_size", MemorySessionStorage.DEFAULT_MAXIMUM_SIZE);
        if (maximumSize < 1) {
            throw settings.error("maximum_size", "must be at least 1, was " + maximumSize);
        }
        settings.getString("namespace");
        return MemorySessionStorage.builder()
                .maximumSize(maximumSize)
                .defaultTtl(settings.defaultTtl())
                .clock(settings.clock())
                .storedFormat(settings.storedFormat())
                .build();
    }

    /**
     * Every key {@link #create} reads: a typo is reported before anything is created.
     *
     * @return every key {@link #create} reads: a typo is reported before anything is created
     */
    @Override
    public java.util.Set<String> knownKeys() {
        return java.util.Set.of("maximum_size", "namespace");
    }
}
