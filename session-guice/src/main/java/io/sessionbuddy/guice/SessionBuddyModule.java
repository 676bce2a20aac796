package io.sessionbuddy.guice;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.MapBinder;
import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.SessionBuddy;
import io.sessionbuddy.spi.StorageProvider;
import io.sessionbuddy.spi.StorageProviders;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.util.List;
import io.sessionbuddy.core.SessionListener;
import io.sessionbuddy.core.SessionObserver;
import java.util.Map;
import java.util.Set;
import java.util.Objects;

/**
 * Guice wiring: binds every {@link StorageProvider} found with {@link java.util.ServiceLoader} in
 * a {@code MapBinder<String, StorageProvider>} and provides the configured {@link SessionBuddy},
 * {@link SessionStorage} and {@link SessionManager} as singletons. Providers are discovered when
 * the module is constructed, not in {@link #configure()}, so the module stays free of side effects.
 * Close the {@link SessionBuddy} instance at shutdown.
 *
 * <p>Session listeners and observers are bound in sets:
 * {@code Multibinder.newSetBinder(binder(), SessionListener.class).addBinding().to(MyListener.class)};
 * each is added to the store when it is made. Metrics: install {@code SessionBuddyMetricsModule}
 * from {@code session-micrometer} with a {@code MeterRegistry} bound.
 *
 * <p>In its own module ({@code io.sessionbuddy:session-guice}) so that neither backend authors
 * (who depend on {@code session-spi}) nor applications that do not use Guice carry Guice.
 */
public final class SessionBuddyModule extends AbstractModule {
    private final SessionBuddyConfig config;
    private final List<StorageProvider> providers;

    /** Configuration from the environment (see {@link ConfigLoader#load()}). */
    public SessionBuddyModule() {
        this(ConfigLoader.system().load());
    }

    /**
     * The given configuration, with the providers on the classpath.
     *
     * @param config the configuration
     */
    public SessionBuddyModule(SessionBuddyConfig config) {
        this(config, StorageProviders.discover());
    }

    /**
     * The given configuration and providers.
     *
     * @param config the configuration
     * @param providers the storage providers to choose from
     */
    public SessionBuddyModule(SessionBuddyConfig config, List<StorageProvider> providers) {
        this.config = Objects.requireNonNull(config, "config");
        this.providers = List.copyOf(providers);
        StorageProviders.byName(this.providers);
    }

    @Override
    protected void configure() {
        MapBinder<String, StorageProvider> binder =
                MapBinder.newMapBinder(binder(), String.class, StorageProvider.class);
        for (StorageProvider provider : providers) {
            binder.addBinding(provider.name()).toInstance(provider);
        }
        bind(SessionBuddyConfig.class).toInstance(config);
        // empty unless bound elsewhere: Multibinder.newSetBinder(binder(), SessionListener.class).addBinding()...
        com.google.inject.multibindings.Multibinder.newSetBinder(binder(), SessionListener.class);
        com.google.inject.multibindings.Multibinder.newSetBinder(binder(), SessionObserver.class);
    }

    /**
     * The store, with every {@link SessionListener} and {@link SessionObserver} bound in a
     * {@code Multibinder} set added (session-micrometer's {@code SessionBuddyMetricsModule} adds its
     * metrics this way).
     */
    @Provides
    @Singleton
    SessionBuddy sessionBuddy(Map<String, StorageProvider> byName, SessionBuddyConfig configuration,
            Set<SessionListener> listeners, Set<SessionObserver> observers) {
        SessionBuddy buddy = SessionBuddy.open(configuration, byName, Clock.systemUTC());
        observers.forEach(buddy::observe);
        listeners.forEach(buddy::addListener);
        return buddy;
    }

    @Provides
    @Singleton
    SessionStorage sessionStorage(SessionBuddy buddy) {
        return buddy.storage();
    }

    @Provides
    @Singleton
    SessionManager sessionManager(SessionBuddy buddy) {
        return buddy.manager();
    }
}
