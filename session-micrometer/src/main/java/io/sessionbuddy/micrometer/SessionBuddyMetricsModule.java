package io.sessionbuddy.micrometer;

import com.google.inject.AbstractModule;
import com.google.inject.multibindings.OptionalBinder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import io.sessionbuddy.spi.SessionBuddy;
import jakarta.inject.Inject;
import java.util.Optional;

/**
 * Guice: binds the metrics of the injector's {@link SessionBuddy} (from {@code session-guice}'s
 * {@code SessionBuddyModule}) to the bound {@link MeterRegistry}, and runs operations in Observations
 * when an {@link ObservationRegistry} is bound too (optional). Eager: the store is opened and its
 * metrics bound when the injector is created.
 *
 * <pre>{@code
 * Guice.createInjector(new SessionBuddyModule(), new SessionBuddyMetricsModule(),
 *         binder -> binder.bind(MeterRegistry.class).toInstance(registry));
 * }</pre>
 */
public final class SessionBuddyMetricsModule extends AbstractModule {
    private final boolean histograms;

    /** Metrics without percentile histograms. */
    public SessionBuddyMetricsModule() {
        this(false);
    }

    /**
     * Metrics, with percentile histograms when {@code histograms}.
     *
     * @param histograms whether timers and summaries publish percentile histograms
     */
    public SessionBuddyMetricsModule(boolean histograms) {
        this.histograms = histograms;
    }

    @Override
    protected void configure() {
        OptionalBinder.newOptionalBinder(binder(), ObservationRegistry.class);
        bind(Boolean.class).annotatedWith(com.google.inject.name.Names.named("session-buddy.histograms"))
                .toInstance(histograms);
        bind(Binding.class).asEagerSingleton();
    }

    /** The binding made when the injector is created. */
    static final class Binding {
        final SessionBuddyMetrics metrics;

        @Inject
        Binding(SessionBuddy buddy, MeterRegistry registry, Optional<ObservationRegistry> observations,
                @jakarta.inject.Named("session-buddy.histograms") Boolean histograms) {
            metrics = SessionBuddyMetrics.of(buddy).observations(observations.orElse(null))
                    .percentileHistogram(histograms);
            metrics.bindTo(registry);
        }
    }
}
