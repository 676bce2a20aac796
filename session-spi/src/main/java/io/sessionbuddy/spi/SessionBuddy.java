package io.sessionbuddy.spi;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionStorage;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entry point for code without Guice: opens the configured storage and a
 * {@link SessionManager} on it, and runs the background cleanup when
 * {@code cleanup_interval_hours} is above 0. Close it to stop the cleanup and close the storage.
 *
 * <pre>{@code
 * try (SessionBuddy buddy = SessionBuddy.open()) {          // memory backend, 24 h TTL
 *     SessionManager sessions = buddy.manager();
 *     String id = sessions.createSession("alice", "demo").join();
 * }
 * }</pre>
 */
public final class SessionBuddy implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SessionBuddy.class);

    private final SessionBuddyConfig config;
    private final SessionStorage storage;
    private final SessionManager manager;
    private final ScheduledExecutorService cleanup;

    private SessionBuddy(SessionBuddyConfig config, SessionStorage storage, Clock clock) {
        this.config = config;
        this.storage = storage;
        this.manager = new SessionManager(storage, config, clock);
        this.cleanup = config.cleanupInterval().isZero() ? null : startCleanup(config, storage);
    }

    /**
     * Opens the store from the environment: the file named by {@code SESSION_BUDDY_CONFIG} (or the
     * system property {@code sessionbuddy.config}) if set, else the memory backend; overrides applied.
     *
     * @return the open store; close it when done
     * @throws io.sessionbuddy.core.SessionConfigException when the configuration is wrong (naming the key)
     */
    public static SessionBuddy open() {
        return open(ConfigLoader.system().load());
    }

    /**
     * Opens the store a JSON config file describes (overrides applied).
     *
     * @param configFile the config file
     * @return the open store; close it when done
     * @throws io.sessionbuddy.core.SessionConfigException when the file or a value in it is wrong
     */
    public static SessionBuddy open(Path configFile) {
        return open(ConfigLoader.system().load(configFile));
    }

    /**
     * Opens the store {@code config} describes, with the providers on the classpath.
     *
     * @param config the configuration
     * @return the open store; close it when done
     * @throws io.sessionbuddy.core.SessionConfigException when no provider has the configured name or a
     *     backend setting is wrong
     */
    public static SessionBuddy open(SessionBuddyConfig config) {
        return open(config, StorageProviders.byName(StorageProviders.discover()), Clock.systemUTC());
    }

    /**
     * Opens the store {@code config} describes with the given providers and clock.
     *
     * @param config the configuration
     * @param providers the providers by name ({@link StorageProviders#byName})
     * @param clock the clock that stamps expiry
     * @return the open store; close it when done
     * @throws io.sessionbuddy.core.SessionConfigException as {@link #open(SessionBuddyConfig)}
     */
    public static SessionBuddy open(SessionBuddyConfig config, Map<String, StorageProvider> providers, Clock clock) {
        Objects.requireNonNull(config, "config");
        SessionStorage storage = StorageProviders.create(config, providers, clock);
        LOG.info("Session Buddy opened: backend {} (from {}), default ttl {}", config.storageBackend(),
                config.source(), config.defaultTtl());
        return new SessionBuddy(config, storage, clock);
    }

    /**
     * The configuration in force.
     *
     * @return the configuration
     */
    public SessionBuddyConfig config() {
        return config;
    }

    /**
     * The storage (owned by this object: closed by {@link #close()}).
     *
     * @return the storage
     */
    public SessionStorage storage() {
        return storage;
    }

    /**
     * The session manager on the storage: what applications call.
     *
     * @return the manager
     */
    public SessionManager manager() {
        return manager;
    }

    /**
     * Adds an observer of the storage's operations and the manager's updates (the
     * {@code session-micrometer} module's metrics and tracing are one).
     *
     * @param observer the observer; it must not block
     * @return this
     */
    public SessionBuddy observe(io.sessionbuddy.core.SessionObserver observer) {
        storage.addObserver(observer);
        manager.addObserver(observer);
        return this;
    }

    /**
     * Removes an observer added with {@link #observe}.
     *
     * @param observer the observer
     */
    public void unobserve(io.sessionbuddy.core.SessionObserver observer) {
        storage.removeObserver(observer);
        manager.removeObserver(observer);
    }

    /**
     * Adds a listener of session events (created, updated, deleted through {@link #manager()}, and
     * expired ones the store's cleanup removed): see {@link io.sessionbuddy.core.SessionListener}.
     *
     * @param listener the listener; called on a bounded executor, never on an I/O thread
     * @return this
     */
    public SessionBuddy addListener(io.sessionbuddy.core.SessionListener listener) {
        manager.addListener(listener);
        return this;
    }

    /** Stops the background cleanup and closes the storage. */
    @Override
    public void close() {
        if (cleanup != null) {
            cleanup.shutdownNow();
        }
        storage.close();
    }

    private static ScheduledExecutorService startCleanup(SessionBuddyConfig config, SessionStorage storage) {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "session-buddy-cleanup");
            thread.setDaemon(true);
            return thread;
        });
        long period = config.cleanupInterval().toMillis();
        var unused = executor.scheduleAtFixedRate(() -> {
            try {
                int removed = storage.cleanupExpiredSessions().get(period, TimeUnit.MILLISECONDS);
                LOG.debug("background cleanup removed {} expired sessions", removed);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                LOG.warn("background cleanup of backend {} failed: {}", config.storageBackend(), e.toString());
            }
        }, period, period, TimeUnit.MILLISECONDS);
        return executor;
    }
}
