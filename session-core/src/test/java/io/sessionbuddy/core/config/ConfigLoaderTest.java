package io.sessionbuddy.core.config;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.Compression;
import io.sessionbuddy.core.format.KeyRing;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    private final ConfigLoader loader = new ConfigLoader(Map.of(), Map.of());

    @Test
    void noConfigMeansMemoryWithA24HourTtl() {
        SessionBuddyConfig config = loader.load();

        assertThat(config.storageBackend()).isEqualTo("memory");
        assertThat(config.defaultTtl()).isEqualTo(Duration.ofHours(24));
        assertThat(config.cleanupInterval()).isZero();
        assertThat(config.deprecations()).isEmpty();
    }

    @Test
    void theOriginalFileShapeLoadsAsIs(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("serverless.json");
        Files.writeString(file, """
                { "storage_backend": "redis",
                  "session_ttl_hours": 12,
                  "cleanup_interval_hours": 6,
                  "backends": {
                    "redis": { "host": "localhost", "port": 6379, "db": 0, "key_prefix": "session_mgmt:" },
                    "s3": { "bucket_name": "session-mgmt-mcp", "region": "us-east-1", "key_prefix": "sessions/" },
                    "local": { "storage_dir": "/tmp/sessions" } } }
                """);

        SessionBuddyConfig config = loader.load(file);

        assertThat(config.storageBackend()).isEqualTo("redis");
        assertThat(config.defaultTtl()).isEqualTo(Duration.ofHours(12));
        assertThat(config.cleanupInterval()).isEqualTo(Duration.ofHours(6));
        assertThat(config.selectedBackendSettings()).containsEntry("host", "localhost").containsEntry("port", 6379);
        assertThat(config.backends().get("s3")).containsEntry("bucket", "session-mgmt-mcp").doesNotContainKey("bucket_name");
        assertThat(config.backends().get("local")).containsEntry("directory", "/tmp/sessions");
        assertThat(config.source()).isEqualTo(file.toString());
        assertThat(config.deprecations()).isEmpty();
    }

    @Test
    void legacyAcbWithMemoryCacheTypeMapsToMemoryWithOneWarning() {
        SessionBuddyConfig config = loader.parse("""
                { "storage_backend": "acb", "session_ttl_hours": 24,
                  "backends": { "acb": { "cache_type": "memory", "namespace": "session" } } }
                """, "seed.json");

        assertThat(config.storageBackend()).isEqualTo("memory");
        assertThat(config.selectedBackendSettings()).containsEntry("namespace", "session").doesNotContainKey("cache_type");
        assertThat(config.deprecations()).hasSize(1).first().asString().contains("acb").contains("\"memory\"");
    }

    @Test
    void legacyAcbWithRedisCacheTypeMapsToRedisAndItsTtlSecondsToTheDefaultTtl() {
        SessionBuddyConfig config = loader.parse("""
                { "storage_backend": "acb",
                  "backends": { "acb": { "cache_type": "redis", "ttl_seconds": 600, "host": "cache" },
                                "redis": { "port": 6380 } } }
                """, "seed.json");

        assertThat(config.storageBackend()).isEqualTo("redis");
        assertThat(config.defaultTtl()).isEqualTo(Duration.ofMinutes(10));
        assertThat(config.selectedBackendSettings()).containsEntry("host", "cache").containsEntry("port", 6380);
        assertThat(config.deprecations()).hasSize(1);
    }

    @Test
    void legacyAcbWithAnotherCacheTypeNamesTheKey() {
        assertThatThrownBy(() -> loader.parse("""
                { "storage_backend": "acb", "backends": { "acb": { "cache_type": "memcached" } } }
                """, "seed.json"))
                .isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("seed.json").hasMessageContaining("backends.acb.cache_type");
    }

    @Test
    void legacyLocalMapsToFileWithOneWarning() {
        SessionBuddyConfig config = loader.parse("""
                { "storage_backend": "local", "backends": { "local": { "storage_dir": "/data/sessions" } } }
                """, "seed.json");

        assertThat(config.storageBackend()).isEqualTo("file");
        assertThat(config.selectedBackendSettings()).containsEntry("directory", "/data/sessions");
        assertThat(config.deprecations()).hasSize(1).first().asString().contains("local");
    }

    @Test
    void environmentAndSystemPropertiesOverrideTheFileAndPropertiesWin() {
        ConfigLoader withOverrides = new ConfigLoader(
                Map.of("SESSION_BUDDY_STORAGE_BACKEND", "redis", "SESSION_BUDDY_REDIS_HOST", "env-host",
                        "SESSION_BUDDY_REDIS_KEY_PREFIX", "app:", "SESSION_BUDDY_SESSION_TTL_HOURS", "2"),
                Map.of("sessionbuddy.redis.host", "prop-host"));

        SessionBuddyConfig config = withOverrides.parse("""
                { "storage_backend": "memory", "backends": { "redis": { "host": "file-host", "port": 1 } } }
                """, "app.json");

        assertThat(config.storageBackend()).isEqualTo("redis");
        assertThat(config.defaultTtl()).isEqualTo(Duration.ofHours(2));
        assertThat(config.selectedBackendSettings())
                .containsEntry("host", "prop-host").containsEntry("key_prefix", "app:").containsEntry("port", 1);
    }

    @Test
    void theConfigFileCanBeNamedByTheEnvironment(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("c.json");
        Files.writeString(file, "{\"storage_backend\": \"file\", \"backends\": {\"file\": {\"directory\": \"x\"}}}");

        SessionBuddyConfig config = new ConfigLoader(Map.of("SESSION_BUDDY_CONFIG", file.toString()), Map.of()).load();

        assertThat(config.storageBackend()).isEqualTo("file");
        assertThat(config.source()).isEqualTo(file.toString());
    }

    @Test
    void anUnknownTopLevelKeyIsAnErrorNamingKeyAndFile() {
        assertThatThrownBy(() -> loader.parse("{\"storage_backnd\": \"memory\"}", "/etc/app/sessions.json"))
                .isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("/etc/app/sessions.json").hasMessageContaining("storage_backnd");
    }

    @Test
    void wrongTypesAndRangesAreErrorsNamingTheKey() {
        assertThatThrownBy(() -> loader.parse("{\"session_ttl_hours\": \"soon\"}", "a.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("session_ttl_hours");
        assertThatThrownBy(() -> loader.parse("{\"session_ttl_hours\": 0}", "a.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("session_ttl_hours");
        assertThatThrownBy(() -> loader.parse("{\"cleanup_interval_hours\": -1}", "a.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("cleanup_interval_hours");
        assertThatThrownBy(() -> loader.parse("{\"max_update_attempts\": 0}", "a.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("max_update_attempts");
        assertThatThrownBy(() -> loader.parse("{\"backends\": {\"redis\": 5}}", "a.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.redis");
        assertThatThrownBy(() -> loader.parse("{\"session_ttl_hours\": 1, \"default_ttl_seconds\": 5}", "a.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("default_ttl_seconds");
    }

    @Test
    void refreshTtlOnReadIsOffByDefaultAndReadAsABoolean() {
        assertThat(loader.parse("{}", "a.json").refreshTtlOnRead()).isFalse();
        assertThat(loader.parse("{\"refresh_ttl_on_read\": true}", "a.json").refreshTtlOnRead()).isTrue();
        assertThat(new ConfigLoader(Map.of("SESSION_BUDDY_REFRESH_TTL_ON_READ", "true"), Map.of())
                .parse("{}", "a.json").refreshTtlOnRead()).isTrue();
        assertThatThrownBy(() -> loader.parse("{\"refresh_ttl_on_read\": \"sometimes\"}", "a.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("refresh_ttl_on_read");
    }

    @Test
    void anAliasGivenTogetherWithItsNewNameIsAnError() {
        assertThatThrownBy(() -> loader.parse(
                "{\"backends\": {\"file\": {\"storage_dir\": \"a\", \"directory\": \"b\"}}}", "a.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.file.storage_dir");
    }

    @Test
    void brokenJsonAndMissingFilesNameTheFile(@TempDir Path dir) throws Exception {
        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{ \"storage_backend\": ");

        assertThatThrownBy(() -> loader.load(broken)).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining(broken.toString()).hasMessageContaining("not a JSON object");
        assertThatThrownBy(() -> loader.load(dir.resolve("missing.json"))).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("missing.json").hasMessageContaining("not found");
    }

    @Test
    void anEnvironmentVariableThatNamesNoKeyIsAnError() {
        ConfigLoader bad = new ConfigLoader(Map.of("SESSION_BUDDY_NONSENSE", "1"), Map.of());
        assertThatThrownBy(bad::load).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("SESSION_BUDDY_NONSENSE");
    }

    // ---- stored format ----

    private static final String KEY_A = java.util.Base64.getEncoder().encodeToString(new byte[32]);
    private static final String KEY_B;

    static {
        byte[] b = new byte[32];
        java.util.Arrays.fill(b, (byte) 9);
        KEY_B = java.util.Base64.getEncoder().encodeToString(b);
    }

    @Test
    void theStoredFormatDefaultsToZstdOver1KibWithA4MibLimitAndNoEncryption() {
        StoredFormat format = loader.load().storedFormat();

        assertThat(format.compression()).isEqualTo(Compression.ZSTD);
        assertThat(format.compressionThresholdBytes()).isEqualTo(1024);
        assertThat(format.maxSessionBytes()).isEqualTo(4 * 1024 * 1024);
        assertThat(format.maxDecodedBytes()).isEqualTo(64 * 1024 * 1024);
        assertThat(format.keyRing().isEmpty()).isTrue();
    }

    @Test
    void compressionAndLimitsAreConfigurableAndOverridable() {
        SessionBuddyConfig config = new ConfigLoader(Map.of("SESSION_BUDDY_COMPRESSION", "gzip"),
                Map.of("sessionbuddy.max_session_bytes", "100000")).parse("""
                { "compression": "none", "compression_threshold_bytes": 256, "max_decoded_bytes": 200000 }
                """, "c.json");

        assertThat(config.storedFormat().compression()).isEqualTo(Compression.GZIP);
        assertThat(config.storedFormat().compressionThresholdBytes()).isEqualTo(256);
        assertThat(config.storedFormat().maxSessionBytes()).isEqualTo(100_000);
        assertThat(config.storedFormat().maxDecodedBytes()).isEqualTo(200_000);
    }

    @Test
    void badStoredFormatValuesNameTheKey() {
        assertThatThrownBy(() -> loader.parse("{\"compression\": \"lzma\"}", "c.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("compression")
                .hasMessageContaining("zstd").hasMessageContaining("c.json");
        assertThatThrownBy(() -> loader.parse("{\"max_session_bytes\": 0}", "c.json"))
                .hasMessageContaining("max_session_bytes");
        assertThatThrownBy(() -> loader.parse("{\"max_session_bytes\": 5000, \"max_decoded_bytes\": 4000}", "c.json"))
                .hasMessageContaining("max_decoded_bytes").hasMessageContaining("at least");
    }

    @Test
    void theWrittenStoredFormatVersionDefaultsToTheNewestAndCanBeHeldBackForARollingUpgrade() {
        assertThat(loader.parse("{}", "c.json").storedFormat().writeVersion()).isEqualTo(2);
        assertThat(loader.parse("{\"stored_format_version\": 1}", "c.json").storedFormat().writeVersion()).isEqualTo(1);
        assertThat(new ConfigLoader(Map.of("SESSION_BUDDY_STORED_FORMAT_VERSION", "1"), Map.of()).parse("{}", "c.json")
                .storedFormat().writeVersion()).isEqualTo(1);
        for (String bad : List.of("0", "3", "1.5", "\"two\"")) {
            assertThatThrownBy(() -> loader.parse("{\"stored_format_version\": " + bad + "}", "c.json")).as(bad)
                    .isInstanceOf(SessionConfigException.class).hasMessageContaining("stored_format_version");
        }
    }

    @Test
    void encryptionKeysComeFromBase64AnEnvironmentVariableOrAFile(@TempDir Path dir) throws Exception {
        Path keyFile = dir.resolve("k3.key");
        Files.writeString(keyFile, KEY_A + "\n");
        SessionBuddyConfig config = new ConfigLoader(Map.of("MY_KEY", KEY_B), Map.of()).parse("""
                { "encryption_keys": { "k1": "base64:%s", "k2": "env:MY_KEY", "k3": "file:%s" },
                  "encryption_active_key": "k2" }
                """.formatted(KEY_A, keyFile.toString().replace("\\", "\\\\")), "c.json");

        KeyRing ring = config.storedFormat().keyRing();
        assertThat(ring.activeKeyId()).isEqualTo("k2");
        assertThat(ring.keyIds()).containsExactly("k1", "k2", "k3");
        SessionState state = SessionState.builder("abc", "u", "p").build();
        byte[] record = new SessionRecordCodec(config.storedFormat()).encode(state, "ns");
        KeyRing onlyB = KeyRing.of("k2", Map.of("k2", java.util.Base64.getDecoder().decode(KEY_B)));
        assertThat(new SessionRecordCodec(StoredFormat.defaults().withKeyRing(onlyB)).decode(record, "ns", "abc"))
                .isEqualTo(state);
    }

    @Test
    void aSingleKeyIsActiveWithoutNamingIt() {
        SessionBuddyConfig config = loader.parse("{\"encryption_keys\": {\"only\": \"base64:" + KEY_A + "\"}}", "c.json");

        assertThat(config.storedFormat().keyRing().activeKeyId()).isEqualTo("only");
    }

    @Test
    void badKeysFailWithoutShowingKeyMaterial() {
        String shortKey = java.util.Base64.getEncoder().encodeToString(new byte[16]);
        assertThatThrownBy(() -> loader.parse("{\"encryption_keys\": {\"k\": \"base64:" + shortKey + "\"}}", "c.json"))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("encryption_keys.k")
                .hasMessageContaining("16 bytes").hasMessageNotContaining(shortKey);
        assertThatThrownBy(() -> loader.parse("{\"encryption_keys\": {\"k\": \"" + KEY_A + "\"}}", "c.json"))
                .hasMessageContaining("base64:").hasMessageNotContaining(KEY_A);
        assertThatThrownBy(() -> loader.parse("{\"encryption_keys\": {\"k\": \"base64:%%%\"}}", "c.json"))
                .hasMessageContaining("not valid base64").hasMessageNotContaining("%%%");
        assertThatThrownBy(() -> loader.parse("{\"encryption_keys\": {\"k\": \"env:NOPE\"}}", "c.json"))
                .hasMessageContaining("NOPE").hasMessageContaining("not set");
        assertThatThrownBy(() -> loader.parse("{\"encryption_keys\": {\"k\": \"file:/no/such/key\"}}", "c.json"))
                .hasMessageContaining("/no/such/key");
        assertThatThrownBy(() -> loader.parse("{\"encryption_keys\": {\"a\": \"base64:" + KEY_A + "\", \"b\": \"base64:"
                + KEY_B + "\"}}", "c.json")).hasMessageContaining("encryption_active_key").hasMessageContaining("required");
        assertThatThrownBy(() -> loader.parse("{\"encryption_keys\": {\"a\": \"base64:" + KEY_A
                + "\"}, \"encryption_active_key\": \"z\"}", "c.json")).hasMessageContaining("encryption_active_key")
                .hasMessageContaining("[a]");
        assertThatThrownBy(() -> loader.parse("{\"encryption_active_key\": \"z\"}", "c.json"))
                .hasMessageContaining("encryption_keys is not");
    }

    @Test
    void numbersTooLargeToRepresentAreConfigErrorsNamingTheKey() {
        for (String key : List.of("session_ttl_hours", "max_session_bytes", "cleanup_interval_hours")) {
            assertThatThrownBy(() -> loader.parse("{\"" + key + "\": 1e400}", "big.json"))
                    .isInstanceOf(SessionConfigException.class).hasMessageContaining("big.json")
                    .hasMessageContaining(key);
        }
    }
}
