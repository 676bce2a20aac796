package io.sessionbuddy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.redis.RedisTestServer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records written exactly as the original Python store wrote them (gzip of its JSON, its key names,
 * its index sets, SET ... EX) into a real Redis, then migrated with the CLI to the new backends.
 */
class LegacyRedisMigrationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static RedisTestServer server;
    private static RedisClient client;
    private static StatefulRedisConnection<String, byte[]> connection;
    private static io.sessionbuddy.s3.S3TestServer s3;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        server = RedisTestServer.start();
        client = RedisClient.create();
        connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE), server.uri());
        s3 = io.sessionbuddy.s3.S3TestServer.start();
        s3.createBucket("migrated");
    }

    @AfterAll
    static void stop() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        server.close();
        s3.close();
    }

    /** The original's JSON: no expires_at, no version, timestamps as Python's isoformat() wrote them. */
    private static ObjectNode original(String id, String user, String project, String created) {
        ObjectNode node = JSON.createObjectNode().put("session_id", id).put("user_id", user).put("project_id", project)
                .put("created_at", created).put("last_activity", created);
        node.putArray("permissions").add("read").add("write");
        ObjectNode turn = node.putArray("conversation_history").addObject().put("role", "user")
                .put("content", "Grüße aus Köln — 日本語 ✓ \"quoted\"");
        turn.putObject("meta").putArray("tags").add("ü").add(1).addNull();
        node.putObject("reflection_data").putObject("nested").put("depth", 2);
        node.putObject("app_monitoring_state").put("requests", 12);
        node.putObject("llm_provider_configs").put("provider", "anthropic");
        node.putObject("metadata").put("theme", "dark");
        return node;
    }

    private static byte[] gzip(byte[] data) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
            gzip.write(data);
        }
        return out.toByteArray();
    }

    /** Writes one record as the original's RedisStorage.store_session did. */
    private static List<RedisFuture<?>> write(String prefix, ObjectNode session, long ttlSeconds) throws Exception {
        RedisAsyncCommands<String, byte[]> redis = connection.async();
        String id = session.get("session_id").asText();
        List<RedisFuture<?>> pending = new ArrayList<>();
        pending.add(redis.set(prefix + "session:" + id, gzip(JSON.writeValueAsBytes(session)),
                SetArgs.Builder.ex(ttlSeconds)));
        pending.add(redis.sadd(prefix + "index:user:" + session.get("user_id").asText(), id.getBytes(StandardCharsets.UTF_8)));
        pending.add(redis.sadd(prefix + "index:project:" + session.get("project_id").asText(),
                id.getBytes(StandardCharsets.UTF_8)));
        return pending;
    }

    private CliRun run(String... args) {
        return CliRun.run(false, Map.of(), args);
    }

    private Path config(String name, String json) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, json);
        return file;
    }

    /** The original's config file, unchanged but for the backend name. */
    private Path legacyConfig(String prefix) throws Exception {
        return config("legacy.json", """
                { "storage_backend": "legacy-redis",
                  "session_ttl_hours": 24,
                  "backends": { "redis": { "host": "127.0.0.1", "port": %d, "db": 0, "key_prefix": "%s" } } }
                """.formatted(server.port(), prefix));
    }

    @Test
    void everyFieldOfTheOriginalsRecordsSurvivesAMigrationToEachNewBackend() throws Exception {
        String prefix = "fields:";
        List<RedisFuture<?>> pending = new ArrayList<>();
        pending.addAll(write(prefix, original("a1b2c3d4e5f60718", "alice", "apollo", "2024-05-06T07:08:09.123456"), 3600));
        pending.addAll(write(prefix, original("0f1e2d3c4b5a6978", "bob", "apollo", "2024-05-06T07:08:09+00:00"), 7200));
        pending.addAll(write(prefix, original("1111222233334444", "carol", "zeus", "2024-05-06T07:08:09"), 1));
        pending.add(connection.async().set(prefix + "session:dead0000beef0000", "not gzip".getBytes(StandardCharsets.UTF_8)));
        pending.add(connection.async().sadd(prefix + "index:user:alice", "dead0000beef0000".getBytes(StandardCharsets.UTF_8)));
        pending.forEach(f -> f.toCompletableFuture().join());
        Thread.sleep(1_200); // carol's session expires on the server; its index entries stay behind
        Path legacy = legacyConfig(prefix);

        assertThat(run("list", "--config", legacy.toString(), "--user", "alice", "--json").json().size()).isEqualTo(1);
        JsonNode alice = run("get", "a1b2c3d4e5f60718", "--config", legacy.toString(), "--json").json();
        assertThat(alice.path("created_at").asText()).isEqualTo("2024-05-06T07:08:09.123456Z");
        assertThat(Duration.between(Instant.now(), Instant.parse(alice.path("expires_at").asText())).toMinutes())
                .isBetween(58L, 60L);
        CliRun write = run("delete", "a1b2c3d4e5f60718", "--config", legacy.toString());
        assertThat(write.code()).isEqualTo(1);
        assertThat(write.err()).contains("read-only").contains("session-buddy migrate");

        String redisTarget = """
                { "storage_backend": "redis", "backends": { "redis": { "host": "127.0.0.1", "port": %d,
                  "namespace": "migrated" } } }""".formatted(server.port());
        String fileTarget = """
                { "storage_backend": "file", "backends": { "file": { "directory": "%s" } } }"""
                .formatted(dir.resolve("files").toString().replace("\\", "\\\\"));
        String s3Target = """
                { "storage_backend": "s3", "backends": { "s3": { "bucket": "migrated", "endpoint": "%s",
                  "path_style": true, "access_key": "%s", "secret_key": "%s" } } }""".formatted(s3.directEndpoint(),
                io.sessionbuddy.s3.S3TestServer.ACCESS_KEY, io.sessionbuddy.s3.S3TestServer.SECRET_KEY);
        for (String target : List.of(fileTarget, redisTarget, s3Target, "{\"storage_backend\": \"memory\"}")) {
            Path to = config("target.json", target);
            CliRun result = run("migrate", "--from", legacy.toString(), "--to", to.toString(), "--json");

            JsonNode summary = result.json();
            assertThat(result.code()).as("one corrupt record fails the run but not the others").isEqualTo(1);
            assertThat(summary.path("copied").asInt()).isEqualTo(2);
            assertThat(summary.path("failed").asInt()).isEqualTo(1);
            assertThat(summary.path("failures").path("dead0000beef0000").asText())
                    .contains("fields:session:dead0000beef0000");
            if (target.contains("memory")) {
                continue;
            }
            for (String id : List.of("a1b2c3d4e5f60718", "0f1e2d3c4b5a6978")) {
                ObjectNode from = (ObjectNode) run("get", id, "--config", legacy.toString(), "--json").json();
                ObjectNode to2 = (ObjectNode) run("get", id, "--config", to.toString(), "--json").json();
                Instant fromExpiry = Instant.parse(from.remove("expires_at").asText());
                Instant toExpiry = Instant.parse(to2.remove("expires_at").asText());
                assertThat(to2).isEqualTo(from);
                assertThat(Duration.between(fromExpiry, toExpiry).abs()).isLessThan(Duration.ofSeconds(5));
                assertThat(to2.path("conversation_history").get(0).path("content").asText())
                        .isEqualTo("Grüße aus Köln — 日本語 ✓ \"quoted\"");
                assertThat(to2.path("version").asLong()).isZero();
            }
            assertThat(run("get", "1111222233334444", "--config", to.toString()).code())
                    .as("the expired session is not migrated").isEqualTo(1);
            assertThat(run("migrate", "--from", legacy.toString(), "--to", to.toString(), "--json").json()
                    .path("skipped_present").asInt()).as("a re-run copies nothing").isEqualTo(2);
        }
    }

    @Test
    void listingsFindWhatIsStoredEvenWhereTheOriginalsIndexSetsLostTheirMembers() throws Exception {
        String prefix = "lostindex:";
        List<RedisFuture<?>> pending = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            pending.addAll(write(prefix, original(String.format("%016x", 0xabc000L + i), "user" + (i % 5),
                    i % 2 == 0 ? "even" : "odd", "2024-05-06T07:08:09"), 3600));
        }
        pending.forEach(f -> f.toCompletableFuture().join());
        // as the original's TTL resets left them: some index sets expired, one lost a member
        connection.sync().del(prefix + "index:user:user1", prefix + "index:user:user3", prefix + "index:project:odd");
        connection.sync().srem(prefix + "index:user:user0", String.format("%016x", 0xabc000L).getBytes(StandardCharsets.UTF_8));
        Path legacy = legacyConfig(prefix);

        for (int u = 0; u < 5; u++) {
            assertThat(run("list", "--config", legacy.toString(), "--user", "user" + u, "--json").json().size())
                    .as("user" + u).isEqualTo(4);
        }
        assertThat(run("list", "--config", legacy.toString(), "--project", "odd", "--json").json().size()).isEqualTo(10);
        assertThat(run("list", "--config", legacy.toString(), "--user", "user1", "--project", "odd", "--json").json()
                .size()).as("sessions 1 and 11").isEqualTo(2);
    }

    @Test
    void tenThousandSessionsMigrateAndReportARate() throws Exception {
        String prefix = "bulk:";
        List<RedisFuture<?>> pending = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            pending.addAll(write(prefix, original(String.format("%016x", 0xabc0000000000000L + i), "user" + (i % 100),
                    "project" + (i % 7), "2024-05-06T07:08:09"), 86_400));
            if (pending.size() > 3_000) {
                pending.forEach(f -> f.toCompletableFuture().join());
                pending.clear();
            }
        }
        pending.forEach(f -> f.toCompletableFuture().join());
        Path to = config("bulk-target.json", """
                { "storage_backend": "redis", "backends": { "redis": { "host": "127.0.0.1", "port": %d,
                  "namespace": "bulk" } } }""".formatted(server.port()));

        CliRun result = run("migrate", "--from", legacyConfig(prefix).toString(), "--to", to.toString(), "--json",
                "--delete-source");

        assertThat(result.code()).as(result.err()).isZero();
        JsonNode summary = result.json();
        assertThat(summary.path("copied").asInt()).isEqualTo(10_000);
        assertThat(summary.path("sessions_per_second").asLong()).isPositive();
        assertThat(summary.path("deleted_from_source").asInt()).as("a legacy store is read-only").isZero();
        assertThat(result.err()).contains("read-only legacy store");
        assertThat(run("list", "--config", to.toString(), "--user", "user7", "--json").json().size()).isEqualTo(100);
    }

    @Test
    void theOriginalsOddIdsArriveInRedisAndCanBeReadByThemInTheNewLayout() throws Exception {
        String prefix = "oddids:";
        List<String> ids = List.of("sess 42", "ünïcødé-session", "x".repeat(129), "proj:1:abc", "{slot}tag}", "}");
        List<RedisFuture<?>> pending = new ArrayList<>();
        for (String id : ids) {
            pending.addAll(write(prefix, original(id, "dave", "odd", "2024-05-06T07:08:09+00:00"), 3600));
        }
        pending.forEach(f -> f.toCompletableFuture().join());
        Path legacy = legacyConfig(prefix);
        Path to = config("odd-target.json", """
                { "storage_backend": "redis", "backends": { "redis": { "host": "127.0.0.1", "port": %d,
                  "namespace": "oddmigrated" } } }""".formatted(server.port()));

        CliRun result = run("migrate", "--from", legacy.toString(), "--to", to.toString(), "--json");
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.json().path("copied").asInt()).isEqualTo(ids.size());
        for (String id : ids) {
            assertThat(run("get", id, "--config", to.toString(), "--json").json().path("session_id").asText())
                    .isEqualTo(id);
        }
        assertThat(run("list", "--config", to.toString(), "--user", "dave", "--json").json()).hasSize(ids.size());
    }
}
