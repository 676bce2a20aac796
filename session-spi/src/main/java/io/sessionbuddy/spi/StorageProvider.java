package io.sessionbuddy.spi;

import io.sessionbuddy.core.SessionStorage;

/**
 * A backend plugin: turns one backend's configuration block into a {@link SessionStorage}.
 *
 * <p>Implementations are listed in {@code META-INF/services/io.sessionbuddy.spi.StorageProvider}
 * and found with {@link java.util.ServiceLoader}; they need a public no-argument constructor.
 * A provider only translates settings into its backend's public builder: it should read every key
 * it supports through {@link BackendSettings}, because keys it never reads are reported as unknown.
 */
public interface StorageProvider {

    /**
     * The name users write in {@code storage_backend}: {@code memory}, {@code file}, ...
     *
     * @return the provider name
     */
    String name();

    /**
     * Creates a storage from settings. The caller owns the result and closes it.
     *
     * @param settings the backend's settings block
     * @return the storage
     * @throws io.sessionbuddy.core.SessionConfigException when a setting is wrong
     */
    SessionStorage create(BackendSettings settings);

    /**
     * The setting keys this provider reads, so that an unknown key (a typo) is reported before
     * {@link #create} touches anything (creates a directory, connects). {@code null}, the default,
     * means not declared: unknown keys are then reported after {@code create}, from the keys it did
     * not read.
     *
     * @return the keys, or {@code null} when not declared
     */
    default java.util.Set<String> knownKeys() {
        return null;
    }
}
