package io.sessionbuddy.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.SessionTooLargeException;
import io.sessionbuddy.spi.SessionBuddy;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a {@link io.sessionbuddy.spi.StorageProvider} must do with the configuration: a store made
 * through the provider, from a config file's settings, applies the configured stored format. A
 * provider that forgets to pass {@code settings.storedFormat()} on would otherwise ignore
 * {@code encryption_keys} and {@code max_session_bytes} silently while {@code stats()} claims them.
 *
 * <pre>{@code
 * class DynamoStorageProviderTest extends StorageProviderContract {
 *     protected String providerName() { return "dynamo"; }
 *     protected Map<String, Object> backendSettings() { return Map.of("table", "test-table"); }
 *     protected RawRecords rawRecords(SessionStorage storage) { ... }
 * }
 * }</pre>
 */
public abstract class StorageProviderContract {
    private static final String CANARY = "sk-provider-contract-canary";

    /**
     * The provider's name, as {@code storage_backend} gives it.
     *
     * @return the provider name
     */
    protected abstract String providerName();

    /**
     * The provider's settings block for a fresh, empty store.
     *
     * @return the block's keys and values
     */
    protected abstract Map<String, Object> backendSettings();

    /**
     * Raw access to the records of {@code storage} (made from {@link #backendSettings()}).
     *
     * @param storage a storage the provider made
     * @return access to its records
     */
    protected abstract RawRecords rawRecords(SessionStorage storage);

    private SessionBuddyConfig config() {
        byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (i * 7 + 1);
        }
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("storage_backend", providerName());
        file.put("max_session_bytes", 4096);
        file.put("encryption_keys", Map.of("contract-key", "base64:" + Base64.getEncoder().encodeToString(key)));
        file.put("backends", Map.of(providerName(), backendSettings()));
        return new ConfigLoader(Map.of(), Map.of()).fromMap(file, "<provider contract>");
    }

    @Test
    void aStoreMadeByTheProviderEncryptsAndEnforcesTheSizeLimit() throws Exception {
        try (SessionBuddy buddy = SessionBuddy.open(config())) {
            SessionStorage storage = buddy.storage();
            SessionState secret = SessionState.builder(io.sessionbuddy.core.SessionIds.generate(), "provider-user", "provider-project")
                    .llmProviderConfigs(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                            .put("api_key", CANARY))
                    .build();
            storage.storeSession(secret, null).join();

            byte[] record = rawRecords(storage).read(secret.sessionId());
            assertThat(new String(record, StandardCharsets.ISO_8859_1)).doesNotContain(CANARY);
            assertThat(record[5]).as("cipher id of the stored record").isEqualTo((byte) 1);

            SessionState tooLarge = SessionState.builder(io.sessionbuddy.core.SessionIds.generate(), "provider-user", "provider-project")
                    .metadata(Map.of("blob", "x".repeat(8192))).build();
            Throwable refused = org.assertj.core.api.Assertions.catchThrowable(
                    () -> storage.storeSession(tooLarge, null).join());
            if (refused instanceof java.util.concurrent.CompletionException) {
                refused = refused.getCause();
            }
            assertThat(refused).isInstanceOf(SessionTooLargeException.class);
            assertThat(storage.retrieveSession(tooLarge.sessionId()).join()).isEmpty();
        }
    }
}
