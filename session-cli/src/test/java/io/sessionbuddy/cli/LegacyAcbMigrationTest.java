package io.sessionbuddy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.redis.LegacyAcbFixtures;
import io.sessionbuddy.redis.RedisTestServer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Migration from the seed's ACB layout (aiocache pickles on Redis, made by Python's own pickle: see
 * {@code backend-redis/src/test/resources/legacy-acb/make_fixtures.py}) with the CLI, and the
 * original's config files that would open the new layout on the old data: a run that finds nothing
 * of its own layout but the original's data says so and exits 1.
 */
class LegacyAcbMigrationTest {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);
    private static final List<String> FIELDS = List.of("session_id", "user_id", "project_id", "permissions",
            "conversation_history", "reflection_data", "app_monitoring_state", "llm_provider_configs", "metadata");
    private static RedisTestServer server;
    private static RedisClient client;
    private static StatefulRedisConnection<String, byte[]> connection;
    private static RedisCommands<String, byte[]> redis;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        server = RedisTestServer.start();
        client = RedisClient.create();
        connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE), server.uri());
        redis = connection.sync();
    }

    @AfterAll
    static void stop() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        server.close();
    }

    @BeforeEach
    void seed() {
        LegacyAcbFixtures.seed(redis, 7_200);
    }

    private static byte[] fixture(String name) {
        return LegacyAcbFixtures.fixture(name);
    }

    private CliRun run(String... args) {
        return CliRun.run(false, Map.of(), args);
    }

    private Path config(String name, String json) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, json);
        return file;
    }

    /** The seed's config file with the backend name changed to the reader's. */
    private Path acbConfig(String backend) throws Exception {
        return config(backend + ".json", """
                { "storage_backend": "%s", "session_ttl_hours": 24,
                  "backends": { "acb": { "cache_type": "redis", "host": "127.0.0.1", "port": %d,
                                         "namespace": "session" } } }
                """.formatted(backend, server.port()));
    }

    private Path fileTarget() throws Exception {
        return config("target.json", """
                { "storage_backend": "file", "backends": { "file": { "directory": "%s" } } }"""
                .formatted(dir.resolve("files").toString().replace("\\", "\\\\")));
    }

    @Test
    void everySessionThePythonPicklesHoldArrivesWithEveryFieldAndRefusedRecordsAreNamed() throws Exception {
        redis.set("session:acb-evil", fixture("refused-reduce.pickle"), SetArgs.Builder.ex(7_200));
        redis.set("session:acb-signed", fixture("later-signed-pickle.bin"), SetArgs.Builder.ex(7_200));
        Path from = acbConfig("legacy-acb");
        Path to = fileTarget();

        CliRun result = run("migrate", "--from", from.toString(), "--to", to.toString(), "--json");
        JsonNode summary = result.json();
        assertThat(result.code()).as(result.err()).isEqualTo(1);
        assertThat(summary.path("total").asInt()).isEqualTo(6);
        assertThat(summary.path("copied").asInt()).isEqualTo(4);
        assertThat(summary.path("failed").asInt()).isEqualTo(2);
        assertThat(summary.path("failures").path("acb-evil").asText()).contains("session:acb-evil")
                .contains("STACK_GLOBAL");
        assertThat(summary.path("failures").path("acb-signed").asText()).contains("session:acb-signed")
                .contains("signed pickle");

        JsonNode expected = JSON.readTree(fixture("expected.json"));
        for (int protocol = 2; protocol <= 5; protocol++) {
            String id = "acb-00" + protocol;
            JsonNode migrated = JSON.readTree(run("get", id, "--config", to.toString(), "--json").out());
            JsonNode original = expected.get(id);
            for (String field : FIELDS) {
                assertThat(migrated.get(field)).as(id + " " + field).isEqualTo(original.get(field));
            }
            assertThat(Instant.parse(migrated.path("created_at").asText()))
                    .isEqualTo(Instant.parse(original.path("created_at").asText()));
            assertThat(Instant.parse(migrated.path("last_activity").asText()))
                    .isEqualTo(Instant.parse(original.path("last_activity").asText()));
            assertThat(Duration.between(Instant.now(), Instant.parse(migrated.path("expires_at").asText())).toMinutes())
                    .as("the key's TTL is the session's expiry").isBetween(118L, 120L);
        }
        JsonNode listed = run("list", "--config", to.toString(), "--user", "user-0", "--json").json();
        assertThat(listed.size()).isEqualTo(1);
        assertThat(listed.get(0).path("session_id").asText()).isEqualTo("acb-003");
        assertThat(run("migrate", "--from", from.toString(), "--to", to.toString(), "--json").json()
                .path("skipped_present").asInt()).as("a re-run copies nothing").isEqualTo(4);
    }

    @Test
    void theSeedsOwnConfigFileIsNotASilentEmptyMigration() throws Exception {
        Path seedConfig = acbConfig("acb"); // as the seed wrote it: opens this project's Redis layout
        CliRun result = run("migrate", "--from", seedConfig.toString(), "--to", fileTarget().toString());
        assertThat(result.code()).as(result.out() + result.err()).isEqualTo(1);
        assertThat(result.err()).contains("holds no session of its own layout").contains("seed's ACB layout")
                .contains("session:acb-002").contains("\"legacy-acb\"");
        CliRun sync = run("migrate", "--sync", "--from", seedConfig.toString(), "--to", fileTarget().toString());
        assertThat(sync.code()).isEqualTo(1);
        assertThat(sync.err()).contains("\"legacy-acb\"");

        redis.flushall();
        CliRun empty = run("migrate", "--from", seedConfig.toString(), "--to", fileTarget().toString());
        assertThat(empty.code()).as("an empty store is an empty migration").isZero();
    }

    @Test
    void theOriginalsLocalConfigOnItsDirectoryIsNotASilentEmptyMigration() throws Exception {
        Path storage = Files.createDirectories(dir.resolve("original"));
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(JSON.writeValueAsBytes(Map.of("session_id", "a1b2c3d4e5f60718", "user_id", "u",
                    "project_id", "p", "created_at", "2024-05-06T07:08:09", "last_activity", "2024-05-06T07:08:09")));
        }
        Files.write(storage.resolve("a1b2c3d4e5f60718.json.gz"), gz.toByteArray());
        Path original = config("local.json", """
                { "storage_backend": "local", "backends": { "local": { "storage_dir": "%s" } } }"""
                .formatted(storage.toString().replace("\\", "\\\\")));
        CliRun result = run("migrate", "--from", original.toString(), "--to", fileTarget().toString());
        assertThat(result.code()).as(result.out() + result.err()).isEqualTo(1);
        assertThat(result.err()).contains("original Python store's local layout").contains("a1b2c3d4e5f60718.json.gz")
                .contains("\"legacy-file\"");
        assertThat(new String(Files.readAllBytes(original), StandardCharsets.UTF_8)).contains("local");
    }
}
