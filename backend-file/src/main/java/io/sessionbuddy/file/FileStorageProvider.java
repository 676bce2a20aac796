package io.sessionbuddy.file;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;
import java.nio.file.Path;

/**
 * The {@code file} backend's provider (the legacy name {@code local} maps to it). Settings:
 * {@code directory} (default {@code ./sessions}; the original's {@code storage_dir} is read as it)
 * and {@code namespace} (default {@code default}).
 */
public final class FileStorageProvider implements StorageProvider {
    /** The provider name. */
    public static final String NAME = "file";

    /** Used by {@link java.util.ServiceLoader}. */
    public FileStorageProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        Path directory = settings.getPath("directory", FileSessionStorage.DEFAULT_DIRECTORY);
        String namespace = settings.getString("namespace", FileSessionStorage.DEFAULT_NAMESPACE);
        if (!FileSessionStorage.isValidNamespace(namespace)) {
            throw settings.error("namespace", "must match [A-Za-z0-9._-]{1,64} and not be '.' or '..', was \""
                    + namespace + "\"");
        }
        return FileSessionStorage.builder(directory)
                .namespace(namespace)
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
        return java.util.Set.of("directory", "namespace");
    }
}
