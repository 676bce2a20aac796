package io.sessionbuddy.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionStorage;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StorageProvidersTest {

    /** A provider that is only ever discovered, never asked to create a store. */
    private record NamedProvider(String name) implements StorageProvider {
        @Override
        public SessionStorage create(BackendSettings settings) {
            throw new UnsupportedOperationException("not used in these tests");
        }
    }

    @Test
    void aConfiguredRedisBackendWithoutItsJarNamesTheArtifactAndTheProvidersFound() {
        SessionBuddyConfig config = new ConfigLoader(Map.of(), Map.of())
                .parse("{\"storage_backend\": \"redis\"}", "app.json");

        assertThatThrownBy(() -> SessionBuddy.open(config))
                .isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("app.json")
                .hasMessageContaining("no storage provider named 'redis'")
                .hasMessageContaining("io.sessionbuddy:backend-redis")
                .hasMessageContaining("Providers found: []");
    }

    @Test
    void anUnknownThirdPartyNameExplainsWhatToAdd() {
        assertThatThrownBy(() -> StorageProviders.select("dynamo",
                StorageProviders.byName(List.of(new NamedProvider("memory"))), "app.json"))
                .isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("'dynamo'")
                .hasMessageContaining("META-INF/services/io.sessionbuddy.spi.StorageProvider")
                .hasMessageContaining("[memory]");
    }

    @Test
    void twoProvidersWithOneNameFail() {
        assertThatThrownBy(() -> StorageProviders.byName(List.of(new NamedProvider("memory"), new NamedProvider("memory"))))
                .isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("two storage providers are named 'memory'");
    }

    @Test
    void noProvidersAreOnTheSpiModulesOwnClasspath() {
        assertThat(StorageProviders.discover()).isEmpty();
    }
}
