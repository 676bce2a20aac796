package io.sessionbuddy.core;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.format.StoredFormat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The loaded configuration: which backend, default TTL, cleanup schedule, and each backend's
 * settings block. Made by {@link ConfigLoader}, which accepts the original Python config file shape.
 *
 * @param storageBackend the backend's provider name after legacy names were mapped ({@code memory},
 *     {@code file}, {@code redis}, {@code s3}, or a third-party name)
 * @param defaultTtl the time to live of a write without an explicit ttl
 * @param cleanupInterval how often the background cleanup runs; {@link Duration#ZERO} = never
 * @param maxUpdateAttempts how many compare-and-set attempts an update makes before it gives up
 * @param backends each backend's settings block by provider name (legacy aliases already mapped)
 * @param source where the configuration came from: a file path, or {@code <defaults>}/{@code <map>}
 * @param deprecations the deprecation warnings logged while loading (one per legacy name used)
 * @param storedFormat compression, encryption keys and size limits of stored records
 * @param operationTimeout the longest a {@link SessionManager} call may take, queue wait and
 *     retries included; {@link Duration#ZERO} = derived: twice the storage's own
 *     {@linkplain SessionStorage#timeout() command timeout}, or {@link #DEFAULT_OPERATION_TIMEOUT}
 * @param refreshTtlOnRead whether {@link SessionManager#getSession} gives a session it finds the
 *     default time to live again (sliding expiration; {@code refresh_ttl_on_read})
 */
public record SessionBuddyConfig(
        String storageBackend,
        Duration defaultTtl,
        Duration cleanupInterval,
        int maxUpdateAttempts,
        Map<String, Map<String, Object>> backends,
        String source,
        List<String> deprecations,
        StoredFormat storedFormat,
        Duration operationTimeout,
        boolean refreshTtlOnRead) {

    /** The default time to live: 24 hours. */
    public static final Duration DEFAULT_TTL = Duration.ofHours(24);
    /** The default number of attempts of an optimistic update. */
    public static final int DEFAULT_MAX_UPDATE_ATTEMPTS = 100;
    /** Prefix of the providers that read the original Python store's layouts. */
    public static final String LEGACY_PREFIX = "legacy-";
    /** The default backend: in-memory, no server needed. */
    public static final String DEFAULT_BACKEND = "memory";

    /** The operation timeout when the storage names no command timeout of its own. */
    public static final Duration DEFAULT_OPERATION_TIMEOUT = Duration.ofSeconds(10);

    /**
     * A configuration without sliding expiration.
     *
     * @param storageBackend the backend's provider name
     * @param defaultTtl the default time to live
     * @param cleanupInterval how often the background cleanup runs
     * @param maxUpdateAttempts compare-and-set attempts of one update
     * @param backends each backend's settings block
     * @param source where the configuration came from
     * @param deprecations deprecation warnings
     * @param storedFormat the stored format
     * @param operationTimeout the longest a manager call may take ({@link Duration#ZERO} = derived)
     */
    public SessionBuddyConfig(String storageBackend, Duration defaultTtl, Duration cleanupInterval, int maxUpdateAttempts,
            Map<String, Map<String, Object>> backends, String source, List<String> deprecations,
            StoredFormat storedFormat, Duration operationTimeout) {
        this(storageBackend, defaultTtl, cleanupInterval, maxUpdateAttempts, backends, source, deprecations,
                storedFormat, operationTimeout, false);
    }

    /**
     * A configuration with the derived operation timeout and without sliding expiration.
     *
     * @param storageBackend the backend's provider name
     * @param defaultTtl the time to live of a write without one
     * @param cleanupInterval how often the background cleanup runs ({@link Duration#ZERO}: never)
     * @param maxUpdateAttempts compare-and-set attempts of one update
     * @param backends each backend's settings block by provider name
     * @param source where the configuration came from
     * @param deprecations the deprecation warnings logged while loading
     * @param storedFormat compression, encryption keys and size limits
     */
    public SessionBuddyConfig(String storageBackend, Duration defaultTtl, Duration cleanupInterval, int maxUpdateAttempts,
            Map<String, Map<String, Object>> backends, String source, List<String> deprecations,
            StoredFormat storedFormat) {
        this(storageBackend, defaultTtl, cleanupInterval, maxUpdateAttempts, backends, source, deprecations,
                storedFormat, Duration.ZERO);
    }

    /**
     * Copies the maps so that the record is immutable.
     *
     * @param storageBackend the backend's provider name
     * @param defaultTtl the time to live of a write without one
     * @param cleanupInterval how often the background cleanup runs ({@link Duration#ZERO}: never)
     * @param maxUpdateAttempts compare-and-set attempts of one update
     * @param backends each backend's settings block by provider name
     * @param source where the configuration came from
     * @param deprecations the deprecation warnings logged while loading
     * @param storedFormat compression, encryption keys and size limits
     * @param operationTimeout the longest a manager call may take ({@link Duration#ZERO}: derived)
     * @param refreshTtlOnRead whether reads refresh the time to live
     */
    public SessionBuddyConfig {
        Objects.requireNonNull(operationTimeout, "operationTimeout");
        if (operationTimeout.isNegative()) {
            throw new IllegalArgumentException("operationTimeout must not be negative, was " + operationTimeout);
        }
        Objects.requireNonNull(storageBackend, "storageBackend");
        Objects.requireNonNull(defaultTtl, "defaultTtl");
        Objects.requireNonNull(cleanupInterval, "cleanupInterval");
        Objects.requireNonNull(storedFormat, "storedFormat");
        Map<String, Map<String, Object>> copy = new LinkedHashMap<>();
        backends.forEach((name, block) -> copy.put(name, java.util.Collections.unmodifiableMap(new LinkedHashMap<>(block))));
        backends = java.util.Collections.unmodifiableMap(copy);
        deprecations = List.copyOf(deprecations);
    }

    /**
     * The memory backend with every default, ignoring environment overrides.
     *
     * @return the memory backend with every default, ignoring environment overrides
     */
    public static SessionBuddyConfig defaults() {
        return new SessionBuddyConfig(DEFAULT_BACKEND, DEFAULT_TTL, Duration.ZERO, DEFAULT_MAX_UPDATE_ATTEMPTS,
                Map.of(), "<defaults>", List.of(), StoredFormat.defaults());
    }

    /**
     * This configuration with another stored format.
     *
     * @param format the stored format
     * @return the new configuration
     */
    public SessionBuddyConfig withStoredFormat(StoredFormat format) {
        return new SessionBuddyConfig(storageBackend, defaultTtl, cleanupInterval, maxUpdateAttempts, backends, source,
                deprecations, format, operationTimeout, refreshTtlOnRead);
    }

    /**
     * This configuration with another operation timeout ({@link Duration#ZERO} = derived).
     *
     * @param value the operation timeout
     * @return the new configuration
     */
    public SessionBuddyConfig withOperationTimeout(Duration value) {
        return new SessionBuddyConfig(storageBackend, defaultTtl, cleanupInterval, maxUpdateAttempts, backends, source,
                deprecations, storedFormat, value, refreshTtlOnRead);
    }

    /**
     * This configuration with sliding expiration on or off ({@code refresh_ttl_on_read}).
     *
     * @param value whether {@link SessionManager#getSession} refreshes the time to live of what it finds
     * @return the new configuration
     */
    public SessionBuddyConfig withRefreshTtlOnRead(boolean value) {
        return new SessionBuddyConfig(storageBackend, defaultTtl, cleanupInterval, maxUpdateAttempts, backends, source,
                deprecations, storedFormat, operationTimeout, value);
    }

    /**
     * The settings block of the selected backend (empty when the file has none). A legacy reader
     * ({@code legacy-redis}, ...) without a block of its own uses the block of the backend it reads
     * ({@code redis}, ...), so that the original config file works as is.
     *
     * @return the block, empty when there is none
     */
    public Map<String, Object> selectedBackendSettings() {
        Map<String, Object> block = backends.get(storageBackend);
        if (block == null && storageBackend.startsWith(LEGACY_PREFIX)) {
            String read = storageBackend.substring(LEGACY_PREFIX.length());
            block = backends.get(read);
            if (block == null && read.equals("file")) {
                block = backends.get("local");
            }
        }
        return block == null ? Map.of() : block;
    }

    /**
     * Every field, with secrets hidden (see {@link Secrets}): safe to log.
     *
     * @return every field, with secrets hidden (see {@link Secrets}): safe to log
     */
    @Override
    public String toString() {
        Map<String, Object> shown = new LinkedHashMap<>();
        backends.forEach((name, block) -> shown.put(name, Secrets.mask(block)));
        return "SessionBuddyConfig[storageBackend=" + storageBackend + ", defaultTtl=" + defaultTtl
                + ", cleanupInterval=" + cleanupInterval + ", maxUpdateAttempts=" + maxUpdateAttempts
                + ", backends=" + shown + ", source=" + source + ", deprecations=" + deprecations
                + ", storedFormat=" + storedFormat + ", operationTimeout=" + operationTimeout
                + ", refreshTtlOnRead=" + refreshTtlOnRead + "]";
    }
}
