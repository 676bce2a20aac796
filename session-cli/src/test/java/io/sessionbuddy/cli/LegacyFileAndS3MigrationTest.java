package io.sessionbuddy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sessionbuddy.s3.S3TestServer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Records written exactly as the original Python store's local-file and S3 backends wrote them
 * (gzip of its JSON; {@code <storage_dir>/<id>.json.gz}; {@code sessions/<id>.json.gz} with
 * {@code user_id}/{@code project_id} metadata and {@code Expires}), migrated with the CLI.
 */
class LegacyFileAndS3MigrationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static S3TestServer s3;
    private static io.sessionbuddy.redis.RedisTestServer redis;
    private static int targetCount;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start();
        s3.createBucket("session-mgmt-mcp");
        s3.createBucket("migrated");
        redis = io.sessionbuddy.redis.RedisTestServer.start();
    }

    @AfterAll
    static void stop() {
        s3.close();
        redis.close();
    }

    private static ObjectNode original(String id, String user, String created) {
        ObjectNode node = JSON.createObjectNode().put("session_id", id).put("user_id", user).put("project_id", "apollo")
                .put("created_at", created).put("last_activity", created);
        node.putArray("permissions").add("read");
        node.putArray("conversation_history").addObject().put("role", "assistant")
                .put("content", "Ça va? 你好 🦊").putObject("meta").putArray("n").add(1).add(2.5);
        node.putObject("reflection_data");
        node.putObject("app_monitoring_state");
        node.putObject("llm_provider_configs").put("provider", "x");
        node.putObject("metadata").put("k", "v");
        return node;
    }

    private static byte[] gzip(ObjectNode node) throws Exception {
        return gzip(JSON.writeValueAsString(node));
    }

    private static byte[] gzip(String json) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
            gzip.write(json.getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    private CliRun run(String... args) {
        return CliRun.run(false, Map.of(), args);
    }

    private Path config(String name, String json) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, json);
        return file;
    }

    /** Every new backend: memory, file, redis, s3 (a fresh namespace each time). */
    private String targets(int i) {
        int n = ++targetCount;
        return switch (i) {
            case 0 -> "{\"storage_backend\": \"memory\"}";
            case 1 -> "{\"storage_backend\": \"file\", \"backends\": {\"file\": {\"directory\": \""
                    + dir.resolve("new" + n).toString().replace("\\", "\\\\") + "\"}}}";
            case 2 -> "{\"storage_backend\": \"redis\", \"backends\": {\"redis\": {\"host\": \"127.0.0.1\","
                    + " \"port\": " + redis.port() + ", \"namespace\": \"m" + n + "\"}}}";
            default -> "{\"storage_backend\": \"s3\", \"backends\": {\"s3\": {\"bucket\": \"migrated\","
                    + " \"endpoint\": \"" + s3.directEndpoint() + "\", \"path_style\": true, \"namespace\": \"m" + n
                    + "\", \"access_key\": \"" + S3TestServer.ACCESS_KEY + "\", \"secret_key\": \""
                    + S3TestServer.SECRET_KEY + "\"}}}";
        };
    }

    private void migrateAndCompare(Path legacy, List<String> ids, int copied) throws Exception {
        for (int i = 0; i < 4; i++) {
            Path to = config("to" + i + ".json", targets(i));
            CliRun result = run("migrate", "--from", legacy.toString(), "--to", to.toString(), "--json");
            assertThat(result.code()).as(result.err()).isEqualTo(1);
            assertThat(result.json().path("copied").asInt()).isEqualTo(copied);
            assertThat(result.json().path("failed").asInt()).isEqualTo(1);
            if (i == 0) {
                continue;
            }
            for (String id : ids) {
                ObjectNode from = (ObjectNode) run("get", id, "--config", legacy.toString(), "--json").json();
                ObjectNode copy = (ObjectNode) run("get", id, "--config", to.toString(), "--json").json();
                Instant a = Instant.parse(from.remove("expires_at").asText());
                Instant b = Instant.parse(copy.remove("expires_at").asText());
                assertThat(copy).isEqualTo(from);
                assertThat(Duration.between(a, b).abs()).isLessThan(Duration.ofSeconds(5));
                assertThat(copy.path("conversation_history").get(0).path("content").asText()).isEqualTo("Ça va? 你好 🦊");
            }
        }
    }

    @Test
    void theOriginalsLocalFilesMigrateWithTtlsFromTheirModificationTime() throws Exception {
        Path store = Files.createDirectories(dir.resolve("legacy-files"));
        Files.write(store.resolve("aaaabbbbccccdddd.json.gz"), gzip(original("aaaabbbbccccdddd", "alice",
                "2024-05-06T07:08:09.5")));
        Files.write(store.resolve("1234567890abcdef.json.gz"), gzip(original("1234567890abcdef", "bob",
                "2024-05-06T07:08:09+02:00")));
        Path old = store.resolve("0000000000000001.json.gz");
        Files.write(old, gzip(original("0000000000000001", "carol", "2024-01-01T00:00:00")));
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofHours(30))));
        Files.write(store.resolve("badbadbadbadbad0.json.gz"), "not gzip at all".getBytes(StandardCharsets.UTF_8));
        // the original config file: its local block, with the original key names
        Path legacy = config("legacy-file.json", """
                { "storage_backend": "legacy-file", "session_ttl_hours": 24,
                  "backends": { "local": { "storage_dir": "%s" } } }
                """.formatted(store.toString().replace("\\", "\\\\")));

        assertThat(run("list", "--config", legacy.toString(), "--user", "alice", "--json").json()).hasSize(1);
        JsonNode bob = run("get", "1234567890abcdef", "--config", legacy.toString(), "--json").json();
        assertThat(bob.path("created_at").asText()).isEqualTo("2024-05-06T05:08:09Z");
        assertThat(Duration.between(Instant.now(), Instant.parse(bob.path("expires_at").asText())).toHours())
                .isBetween(23L, 24L);
        assertThat(run("get", "0000000000000001", "--config", legacy.toString()).code())
                .as("modified 30 h ago with a 24 h TTL: expired").isEqualTo(1);
        assertThat(run("delete", "aaaabbbbccccdddd", "--config", legacy.toString()).err()).contains("read-only");

        migrateAndCompare(legacy, List.of("aaaabbbbccccdddd", "1234567890abcdef"), 2);
    }

    @Test
    void theOriginalsS3ObjectsMigrateWithTtlsFromExpires() throws Exception {
        try (S3Client client = S3TestServer.client(s3.directEndpoint())) {
            for (String[] session : new String[][] {{"aaaa1111bbbb2222", "alice", "3600"},
                    {"cccc3333dddd4444", "bob", "7200"}, {"eeee5555ffff6666", "carol", "-60"}}) {
                Instant expires = Instant.now().plusSeconds(Long.parseLong(session[2]));
                client.putObject(b -> b.bucket("session-mgmt-mcp").key("sessions/" + session[0] + ".json.gz")
                        .metadata(Map.of("user_id", session[1], "project_id", "apollo")).expires(expires),
                        RequestBody.fromBytes(gzip(original(session[0], session[1], "2024-05-06T07:08:09"))));
            }
            client.putObject(b -> b.bucket("session-mgmt-mcp").key("sessions/0bad0bad0bad0bad.json.gz")
                    .metadata(Map.of("user_id", "alice", "project_id", "apollo")),
                    RequestBody.fromString("{truncated"));
        }
        Path legacy = config("legacy-s3.json", """
                { "storage_backend": "legacy-s3", "session_ttl_hours": 24,
                  "backends": { "s3": { "bucket_name": "session-mgmt-mcp", "region": "us-east-1",
                    "key_prefix": "sessions/", "endpoint": "%s", "path_style": true,
                    "access_key_id": "%s", "secret_access_key": "%s" } } }
                """.formatted(s3.directEndpoint(), S3TestServer.ACCESS_KEY, S3TestServer.SECRET_KEY));

        assertThat(run("list", "--config", legacy.toString(), "--user", "bob", "--json").json()).hasSize(1);
        JsonNode alice = run("get", "aaaa1111bbbb2222", "--config", legacy.toString(), "--json").json();
        assertThat(Duration.between(Instant.now(), Instant.parse(alice.path("expires_at").asText())).toMinutes())
                .isBetween(58L, 60L);
        assertThat(run("get", "eeee5555ffff6666", "--config", legacy.toString()).code()).as("expired").isEqualTo(1);
        assertThat(run("touch", "aaaa1111bbbb2222", "--config", legacy.toString()).err()).contains("read-only");

        migrateAndCompare(legacy, List.of("aaaa1111bbbb2222", "cccc3333dddd4444"), 2);
    }

    @Test
    void theStorageAdaptersLayoutMigratesWithTtlsFromItsTtlField() throws Exception {
        Path data = dir.resolve("claude-data");
        Path sessions = Files.createDirectories(data.resolve("sessions"));
        Files.createDirectories(data.resolve("checkpoints").resolve("not-a-session"));
        Instant now = Instant.now();
        for (String[] session : new String[][] {{"aaaa1111bbbb2222", "alice", "3600"},
                {"cccc3333dddd4444", "bob", null}, {"eeee5555ffff6666", "carol", "-60"}}) {
            ObjectNode state = original(session[0], session[1], "2026-03-01T14:05:09.123456+00:00");
            state.putObject("_metadata").put("session_id", session[0]).put("stored_at", now.toString())
                    .put("backend", "file");
            if (session[2] != null) {
                state.putObject("_ttl").put("ttl_seconds", Long.parseLong(session[2]))
                        .put("expires_at", now.plusSeconds(Long.parseLong(session[2])).atOffset(java.time.ZoneOffset.UTC)
                                .toString());
            }
            Path sessionDir = Files.createDirectories(sessions.resolve(session[0]));
            Files.writeString(sessionDir.resolve("state.json"),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state)); // json.dumps(indent=2)
        }
        Files.createDirectories(sessions.resolve("deleted0deleted0")); // a delete leaves the directory
        Files.writeString(Files.createDirectories(sessions.resolve("0bad0bad0bad0bad")).resolve("state.json"),
                "{\"session_id\": \"0bad0bad0bad0bad\", ");
        Path legacy = config("legacy-adapter.json", """
                { "storage_backend": "legacy-adapter", "session_ttl_hours": 24,
                  "backends": { "legacy-adapter": { "data_dir": "%s" } } }
                """.formatted(data.toString().replace("\\", "\\\\")));

        assertThat(run("list", "--config", legacy.toString(), "--json").json()).hasSize(2);
        assertThat(run("list", "--config", legacy.toString(), "--user", "bob", "--json").json()).hasSize(1);
        JsonNode alice = run("get", "aaaa1111bbbb2222", "--config", legacy.toString(), "--json").json();
        assertThat(Duration.between(Instant.now(), Instant.parse(alice.path("expires_at").asText())).toMinutes())
                .isBetween(58L, 60L);
        assertThat(alice.has("_metadata")).as("a storage field, not a session field").isFalse();
        assertThat(alice.has("_ttl")).isFalse();
        assertThat(alice.path("created_at").asText()).isEqualTo("2026-03-01T14:05:09.123456Z");
        JsonNode bob = run("get", "cccc3333dddd4444", "--config", legacy.toString(), "--json").json();
        assertThat(bob.has("expires_at")).as("no _ttl: no expiry").isFalse();
        assertThat(run("get", "eeee5555ffff6666", "--config", legacy.toString()).code()).as("expired").isEqualTo(1);
        assertThat(run("get", "deleted0deleted0", "--config", legacy.toString()).code()).as("deleted").isEqualTo(1);
        assertThat(run("delete", "aaaa1111bbbb2222", "--config", legacy.toString()).err()).contains("read-only");

        migrateAndCompare(legacy, List.of("aaaa1111bbbb2222"), 2);
        Path to = config("to-adapter.json", targets(1));
        assertThat(run("migrate", "--from", legacy.toString(), "--to", to.toString(), "--json").json()
                .path("copied").asInt()).isEqualTo(2);
        JsonNode copied = run("get", "cccc3333dddd4444", "--config", to.toString(), "--json").json();
        assertThat(copied.path("user_id").asText()).isEqualTo("bob");
        assertThat(Duration.between(Instant.now(), Instant.parse(copied.path("expires_at").asText())).toHours())
                .as("no _ttl: the target's default TTL").isBetween(23L, 24L);
    }

    @Test
    void naiveTimestampsAreTheSourceHostsLocalTimeWhenTold() throws Exception {
        Path store = Files.createDirectories(dir.resolve("legacy-local-time"));
        Files.write(store.resolve("aaaabbbbccccdddd.json.gz"), gzip(original("aaaabbbbccccdddd", "alice",
                "2024-05-06T07:08:09.5")));
        Files.write(store.resolve("1234567890abcdef.json.gz"), gzip(original("1234567890abcdef", "bob",
                "2024-05-06 07:08:09"))); // str(datetime), which the original's validator accepts
        // Python's json.dumps writes NaN and Infinity
        ObjectNode carol = original("feedfacefeedface", "carol", "2024-05-06T07:08:09");
        ((ObjectNode) carol.get("metadata")).put("score", 1.5).put("ratio", 2.5);
        Files.write(store.resolve("feedfacefeedface.json.gz"), gzip(JSON.writeValueAsString(carol)
                .replace("1.5", "NaN").replace("2.5", "-Infinity")));
        String block = "\"storage_dir\": \"" + store.toString().replace("\\", "\\\\") + "\"";
        Path utc = config("legacy-utc.json", "{ \"storage_backend\": \"legacy-file\", \"backends\": { \"local\": { "
                + block + " } } }");
        Path newYork = config("legacy-ny.json", "{ \"storage_backend\": \"legacy-file\", \"backends\": {"
                + " \"local\": { " + block + ", \"source_timezone\": \"America/New_York\" } } }");

        assertThat(run("get", "aaaabbbbccccdddd", "--config", utc.toString(), "--json").json().path("created_at")
                .asText()).isEqualTo("2024-05-06T07:08:09.500Z");
        assertThat(run("get", "1234567890abcdef", "--config", utc.toString(), "--json").json().path("created_at")
                .asText()).isEqualTo("2024-05-06T07:08:09Z");
        assertThat(run("get", "aaaabbbbccccdddd", "--config", newYork.toString(), "--json").json().path("created_at")
                .asText()).as("EDT is UTC-4").isEqualTo("2024-05-06T11:08:09.500Z");

        Path to = config("to-local-time.json", targets(1));
        CliRun migrated = run("migrate", "--from", utc.toString(), "--to", to.toString(), "--source-timezone",
                "America/New_York", "--json");
        assertThat(migrated.code()).as(migrated.err()).isZero();
        assertThat(migrated.json().path("copied").asInt()).isEqualTo(3);
        JsonNode carolCopy = run("get", "feedfacefeedface", "--config", to.toString(), "--json").json();
        assertThat(carolCopy.path("metadata").path("score").isNull()).as("NaN: JSON has none").isTrue();
        assertThat(carolCopy.path("metadata").path("ratio").isNull()).isTrue();
        assertThat(carolCopy.path("metadata").path("k").asText()).isEqualTo("v");
        assertThat(run("get", "1234567890abcdef", "--config", to.toString(), "--json").json().path("created_at")
                .asText()).isEqualTo("2024-05-06T11:08:09Z");

        assertThat(run("migrate", "--from", utc.toString(), "--to", to.toString(), "--source-timezone", "Mars/Olympus")
                .err()).contains("--source-timezone").contains("Mars/Olympus");
        CliRun notLegacy = run("migrate", "--from", to.toString(), "--to", config("to2.json", targets(1)).toString(),
                "--source-timezone", "UTC");
        assertThat(notLegacy.code()).isEqualTo(2);
        assertThat(notLegacy.err()).contains("legacy-");
    }

    @Test
    void everyIdTheOriginalAcceptedIsMigratedAndFoundByItsOriginalIdInEachBackend() throws Exception {
        Path store = Files.createDirectories(dir.resolve("legacy-odd-ids"));
        List<String> ids = List.of("aaaabbbbccccdddd", "sess 42", "ünïcødé-session", "x".repeat(129), "proj:1:abc",
                "Sess-Upper", "{braces}");
        for (String id : ids) {
            Files.write(store.resolve(id + ".json.gz"), gzip(original(id, "bob", "2024-05-06T07:08:09")));
        }
        // an id no store may hold (a control character): still named, and the run fails
        Files.write(store.resolve("tab\there.json.gz"), gzip(original("tab\there", "bob", "2024-05-06T07:08:09")));
        Path legacy = config("legacy-odd.json", """
                { "storage_backend": "legacy-file", "backends": { "local": { "storage_dir": "%s" } } }
                """.formatted(store.toString().replace("\\", "\\\\")));
        assertThat(run("list", "--config", legacy.toString(), "--json").json()).hasSize(ids.size());

        for (int target = 1; target <= 3; target++) {
            Path to = config("to-odd" + target + ".json", targets(target));
            CliRun result = run("migrate", "--from", legacy.toString(), "--to", to.toString(), "--json");
            assertThat(result.code()).as("nothing dropped without a line that says so").isEqualTo(1);
            assertThat(result.json().path("total").asInt()).isEqualTo(ids.size() + 1);
            assertThat(result.json().path("copied").asInt()).isEqualTo(ids.size());
            assertThat(result.json().path("failures").path("tab\there").asText()).contains("invalid session id");
            for (String id : ids) {
                JsonNode copy = run("get", id, "--config", to.toString(), "--json").json();
                assertThat(copy.path("session_id").asText()).as("%s in target %d", id, target).isEqualTo(id);
                assertThat(copy.path("user_id").asText()).isEqualTo("bob");
            }
            JsonNode listed = run("list", "--config", to.toString(), "--user", "bob", "--json").json();
            assertThat(listed).hasSize(ids.size());
        }
    }
}
