package io.sessionbuddy.spi;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/**
 * Finds {@link StorageProvider}s with {@link ServiceLoader} and creates the configured storage.
 * Two providers with one name, or a configured name with no provider, fail with a message naming
 * the Maven artifact to add and the providers that were found.
 */
public final class StorageProviders {
    private static final Set<String> OWN_BACKENDS = Set.of("memory", "file", "redis", "s3");

    private StorageProviders() {
    }

    /**
     * Every provider visible to {@code classLoader} ({@link java.util.ServiceLoader}).
     *
     * @param classLoader where to look
     * @return the providers found
     */
    public static List<StorageProvider> discover(ClassLoader classLoader) {
        List<StorageProvider> found = new ArrayList<>();
        try {
            for (StorageProvider provider : ServiceLoader.load(StorageProvider.class, classLoader)) {
                found.add(provider);
            }
        } catch (ServiceConfigurationError e) {
            throw new SessionConfigException("META-INF/services/" + StorageProvider.class.getName(), null,
                    "a storage provider could not be loaded: " + e.getMessage(), e);
        }
        return found;
    }

    /**
     * Every provider visible to this class's class loader.
     *
     * @return the providers found
     */
    public static List<StorageProvider> discover() {
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        return discover(context != null ? context : StorageProviders.class.getClassLoader());
    }

    /**
     * The providers by name.
     *
     * @param providers the providers
     * @return them by {@link StorageProvider#name()}, sorted
     * @throws SessionConfigException when two providers have the same name
     */
    public static Map<String, StorageProvider> byName(Collection<StorageProvider> providers) {
        Map<String, StorageProvider> byName = new TreeMap<>();
        for (StorageProvider provider : providers) {
            StorageProvider other = byName.putIfAbsent(provider.name(), provider);
            if (other != null) {
                throw new SessionConfigException("the classpath", "storage_backend",
                        "two storage providers are named '" + provider.name() + "': "
                                + other.getClass().getName() + " and " + provider.getClass().getName()
                                + "; remove one of their jars");
            }
        }
        return byName;
    }

    /**
     * The provider named {@code name}.
     *
     * @param name the configured {@code storage_backend}
     * @param providers the providers by name
     * @param source where the configuration came from, for the message
     * @return the provider
     * @throws SessionConfigException naming the artifact to add and the providers found
     */
    public static StorageProvider select(String name, Map<String, StorageProvider> providers, String source) {
        StorageProvider provider = providers.get(name);
        if (provider == null) {
            String own = name.startsWith("legacy-") ? name.substring("legacy-".length()) : name;
            String hint = OWN_BACKENDS.contains(own)
                    ? "Add the Maven artifact io.sessionbuddy:backend-" + own + " to the classpath."
                    : "Add the jar whose META-INF/services/" + StorageProvider.class.getName()
                            + " lists a provider named '" + name + "'.";
            throw new SessionConfigException(source, "storage_backend", "no storage provider named '" + name
                    + "' is on the classpath. " + hint + " Providers found: " + providers.keySet());
        }
        return provider;
    }

    /**
     * Creates the storage {@code config} selects. Fails when its settings block has keys the
     * provider does not know (a typo must not fall back to a default).
     *
     * @param config the configuration
     * @param providers the providers by name
     * @param clock the clock that stamps expiry
     * @return the storage; the caller closes it
     * @throws SessionConfigException when a setting is wrong or unknown
     */
    public static SessionStorage create(SessionBuddyConfig config, Map<String, StorageProvider> providers,
            Clock clock) {
        StorageProvider provider = select(config.storageBackend(), providers, config.source());
        BackendSettings settings = BackendSettings.of(config, clock);
        Set<String> known = provider.knownKeys();
        if (known != null) {
            Set<String> unknown = new java.util.TreeSet<>(settings.keys());
            unknown.removeAll(known);
            if (!unknown.isEmpty()) {
                throw settings.error(unknown.iterator().next(), "unknown key for backend '" + config.storageBackend()
                        + "'" + (unknown.size() > 1 ? " (unknown keys: " + unknown + ")" : "")
                        + "; known keys: " + new java.util.TreeSet<>(known));
            }
        }
        SessionStorage storage = provider.create(settings);
        checkStoredFormat(config, provider, storage, settings.storedFormat());
        Set<String> unread = settings.unreadKeys();
        if (!unread.isEmpty()) {
            storage.close();
            String first = unread.iterator().next();
            throw settings.error(first, "unknown key for backend '" + config.storageBackend() + "'"
                    + (unread.size() > 1 ? " (unknown keys: " + unread + ")" : ""));
        }
        return storage;
    }

    /**
     * Refuses a storage that would silently ignore the configured stored format (encryption keys,
     * compression, size limits): one whose provider forgot to pass {@link BackendSettings#storedFormat()}
     * on, or one that cannot apply it because it does not extend {@link AbstractSessionStorage}.
     */
    static void checkStoredFormat(SessionBuddyConfig config, StorageProvider provider, SessionStorage storage,
            StoredFormat configured) {
        String problem = null;
        if (storage instanceof AbstractSessionStorage base) {
            StoredFormat applied = base.storedFormat().withEncryptionRequired(configured.encryptionRequired());
            if (!applied.equals(configured)) {
                problem = "created a storage whose stored format (" + describe(base.storedFormat())
                        + ") is not the configured one (" + describe(configured) + "): pass"
                        + " settings.storedFormat() to AbstractSessionStorage's constructor";
            }
        } else if (!configured.equals(StoredFormat.defaults())) {
            problem = "created " + storage.getClass().getName() + ", which does not extend AbstractSessionStorage and"
                    + " so cannot apply the configured stored format (" + describe(configured) + ")";
        }
        if (problem != null) {
            storage.close();
            throw new SessionConfigException(config.source(), "storage_backend", "storage provider '"
                    + provider.name() + "' (" + provider.getClass().getName() + ") " + problem);
        }
    }

    private static String describe(StoredFormat format) {
        return "compression " + format.compression().configName() + ", max_session_bytes " + format.maxSessionBytes()
                + ", encryption " + (format.keyRing().isEmpty() ? "none" : "keys " + format.keyRing().keyIds());
    }
}
