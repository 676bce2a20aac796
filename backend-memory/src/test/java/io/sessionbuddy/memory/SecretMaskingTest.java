package io.sessionbuddy.memory;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionManager;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A canary secret in each place a secret can be given never shows in toString, stats or messages. */
class SecretMaskingTest {
    private static final String URI_PASSWORD = "UriPassw0rdCanary";
    private static final String PASSWORD = "PlainPassw0rdCanary";
    private static final String S3_SECRET = "S3SecretCanary";
    private static final String ENCRYPTION_KEY = Base64.getEncoder().encodeToString(
            "0123456789abcdef0123456789ABCDEF".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    private static final List<String> CANARIES = List.of(URI_PASSWORD, PASSWORD, S3_SECRET, ENCRYPTION_KEY);

    private static String config(String backend) {
        return """
                { "storage_backend": "%s",
                  "encryption_keys": { "k1": "base64:%s" },
                  "backends": {
                    "redis": { "uri": "redis://app:%s@cache.internal:6379/0", "password": "%s" },
                    "s3": { "bucket": "b", "access_key": "AKIA", "secret_key": "%s",
                            "endpoint": "http://minio:%s@minio:9000" } } }
                """.formatted(backend, ENCRYPTION_KEY, URI_PASSWORD, PASSWORD, S3_SECRET, URI_PASSWORD);
    }

    private static void assertNoCanary(String text) {
        for (String canary : CANARIES) {
            assertThat(text).doesNotContain(canary);
        }
    }

    @Test
    void configToStringAndStatsHideEverySecret() {
        for (String backend : List.of("redis", "s3")) {
            SessionBuddyConfig config = new ConfigLoader(Map.of(), Map.of()).parse(config(backend), "canary.json");
            assertNoCanary(config.toString());
            assertNoCanary(config.storedFormat().toString());
            try (MemorySessionStorage storage = MemorySessionStorage.builder().build()) {
                Map<String, Object> stats = new SessionManager(storage, config, Clock.systemUTC()).stats().join();
                assertNoCanary(stats.toString());
                assertThat(stats.toString()).contains("***");
            }
        }
    }

    @Test
    void configErrorsQuoteNoSecret() {
        io.sessionbuddy.spi.BackendSettings settings = io.sessionbuddy.spi.BackendSettings.of("redis",
                Map.of("timeout", "redis://x:" + URI_PASSWORD + "@h", "password", 12));
        Throwable error = org.assertj.core.api.Assertions.catchThrowable(
                () -> settings.getDuration("timeout", java.time.Duration.ofSeconds(1)));
        assertThat(error).isInstanceOf(SessionConfigException.class);
        assertNoCanary(error.getMessage());
        assertThat(error.getMessage()).contains("redis://***@h");
    }
}
