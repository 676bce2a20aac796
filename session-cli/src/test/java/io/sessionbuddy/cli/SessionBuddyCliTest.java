package io.sessionbuddy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sessionbuddy.redis.RedisTestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Drives {@link SessionBuddyCli#execute} in-process against real stores. */
class SessionBuddyCliTest {
    @TempDir
    Path dir;

    private CliRun run(String... args) {
        return run(false, Map.of(), args);
    }

    /**
     * Runs with no config file: the CLI's default file store, pointed into the temp directory with
     * an environment override (which would also override a config file's directory).
     */
    private CliRun runDefault(String... args) {
        return run(false, Map.of("SESSION_BUDDY_FILE_DIRECTORY", dir.resolve("default-store").toString()), args);
    }

    private CliRun run(boolean terminal, Map<String, String> environment, String... args) {
        return CliRun.run(terminal, environment, args);
    }

    private Path config(String name, String json) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, json);
        return file;
    }

    private Path fileStore(String name) throws Exception {
        return config(name + ".json", "{\"storage_backend\": \"file\", \"backends\": {\"file\": {\"directory\": \""
                + dir.resolve(name).toString().replace("\\", "\\\\") + "\"}}}");
    }

    private List<String> createSessions(Path config, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            CliRun created = run("create", "--config", config.toString(), "--user", "user" + (i % 3),
                    "--project", "proj", "--metadata", "{\"n\": " + i + ", \"text\": \"grüße ✓\"}");
            assertThat(created.code()).as(created.err()).isZero();
            ids.add(created.out().trim());
        }
        return ids;
    }

    /** Equal in every field; {@code expires_at} re-stamped from the remaining TTL, so within a second. */
    private static void assertSameSession(JsonNode copy, JsonNode original) {
        com.fasterxml.jackson.databind.node.ObjectNode a = copy.deepCopy();
        com.fasterxml.jackson.databind.node.ObjectNode b = original.deepCopy();
        java.time.Instant copyExpiry = java.time.Instant.parse(a.remove("expires_at").asText());
        java.time.Instant originalExpiry = java.time.Instant.parse(b.remove("expires_at").asText());
        assertThat(a).isEqualTo(b);
        assertThat(java.time.Duration.between(originalExpiry, copyExpiry).abs()).isLessThan(java.time.Duration.ofSeconds(1));
    }

    // ---- single-store commands ----

    @Test
    void twoCommandsInARowSeeTheSameDataInTheDefaultFileStore() {
        CliRun created = runDefault("create", "--user", "alice", "--project", "apollo", "--ttl", "2h",
                "--metadata", "{\"tab\": \"reports\"}");
        assertThat(created.code()).as(created.err()).isZero();
        String id = created.out().trim();
        assertThat(id).matches("[0-9a-f]{32}");

        CliRun got = runDefault("get", id);
        assertThat(got.code()).isZero();
        assertThat(got.out()).contains("alice").contains("apollo").contains("reports").contains("version");
        JsonNode json = runDefault("get", id, "--json").json();
        assertThat(json.path("session_id").asText()).isEqualTo(id);
        assertThat(json.path("metadata").path("tab").asText()).isEqualTo("reports");
        assertThat(Files.exists(dir.resolve("default-store").resolve("default").resolve(id + ".json"))).isTrue();

        assertThat(runDefault("list", "--user", "alice").out()).contains(id).contains("1 session");
        assertThat(runDefault("list", "--user", "nobody", "--json").json()).isEmpty();
        assertThat(runDefault("list", "--project", "apollo", "--json").json().get(0).path("session_id").asText()).isEqualTo(id);

        CliRun touched = runDefault("touch", id, "--ttl", "7d", "--json");
        assertThat(touched.code()).isZero();
        assertThat(touched.json().path("version").asLong()).isEqualTo(1); // a touch moves the expiry only
        assertThat(java.time.Instant.parse(touched.json().path("expires_at").asText()))
                .isAfter(java.time.Instant.now().plus(java.time.Duration.ofDays(6)));

        assertThat(runDefault("delete", id).out()).contains("deleted " + id);
        CliRun again = runDefault("delete", id);
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).isEqualTo("session-buddy: no session " + id + System.lineSeparator());
        assertThat(runDefault("get", id).code()).isEqualTo(1);
        assertThat(runDefault("touch", id).code()).isEqualTo(1);
    }

    @Test
    void healthStatsAndCleanupReportTheStore() {
        CliRun health = runDefault("health");
        assertThat(health.code()).isZero();
        assertThat(health.out()).contains("file: available");
        assertThat(runDefault("health", "--json").json().path("available").asBoolean()).isTrue();

        JsonNode stats = runDefault("stats", "--json").json();
        assertThat(stats.path("storage_backend").asText()).isEqualTo("file");
        assertThat(stats.path("stored_format").path("compression").asText()).isEqualTo("zstd");
        assertThat(runDefault("stats").out()).contains("stored_format.max_session_bytes");

        assertThat(runDefault("cleanup").out()).contains("removed 0 expired sessions");
        assertThat(runDefault("cleanup", "--json").json().path("removed").asInt()).isZero();
    }

    @Test
    void anUnreachableStoreFailsHealthWithExitCode1() throws Exception {
        Path redis = config("down.json", "{\"storage_backend\": \"redis\", \"backends\": {\"redis\": "
                + "{\"host\": \"127.0.0.1\", \"port\": 1, \"timeout\": \"300ms\"}}}");

        CliRun health = run("health", "--config", redis.toString());

        assertThat(health.code()).isEqualTo(1);
        assertThat(health.out() + health.err()).contains("redis");
    }

    @Test
    void badUsageExitsWith2AndSaysWhy() {
        CliRun none = run();
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("a command is required");

        assertThat(run("frobnicate").code()).isEqualTo(2);
        CliRun missing = run("create", "--project", "p");
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("--user").contains("create --help");
        CliRun ttl = run("create", "--user", "u", "--project", "p", "--ttl", "soon");
        assertThat(ttl.code()).isEqualTo(2);
        assertThat(ttl.err()).contains("'soon' is not a duration");
        assertThat(run("get").code()).isEqualTo(2);
        assertThat(run("create", "--user", "u", "--project", "p", "--metadata", "[1]").code()).isEqualTo(2);
        assertThat(run("--help").code()).isZero();
    }

    @Test
    void errorsAreOneLineUnlessVerbose() throws Exception {
        Path bad = config("bad.json", "{\"storage_backend\": \"file\", \"session_ttl_hours\": -1}");

        CliRun plain = run("list", "--config", bad.toString());
        assertThat(plain.code()).isEqualTo(1);
        assertThat(plain.err().lines()).hasSize(1);
        assertThat(plain.err()).contains("session_ttl_hours").contains("bad.json");

        CliRun verbose = run("list", "--config", bad.toString(), "--verbose");
        assertThat(verbose.code()).isEqualTo(1);
        assertThat(verbose.err()).contains("SessionConfigException").contains("\tat ");
        assertThat(run("get", "../etc", "--config", dir.resolve("missing.json").toString()).err())
                .contains("config file not found");
    }

    @Test
    void rewriteReencryptsEverySessionWithTheActiveKey() throws Exception {
        String k1 = Base64.getEncoder().encodeToString(new byte[32]);
        byte[] second = new byte[32];
        second[0] = 1;
        String k2 = Base64.getEncoder().encodeToString(second);
        String store = dir.resolve("enc").toString().replace("\\", "\\\\");
        Path old = config("old.json", "{\"storage_backend\": \"file\", \"backends\": {\"file\": {\"directory\": \""
                + store + "\"}}, \"encryption_keys\": {\"k1\": \"base64:" + k1 + "\"}}");
        Path rotated = config("rotated.json", "{\"storage_backend\": \"file\", \"backends\": {\"file\": {\"directory\": \""
                + store + "\"}}, \"encryption_keys\": {\"k1\": \"base64:" + k1 + "\", \"k2\": \"base64:" + k2
                + "\"}, \"encryption_active_key\": \"k2\"}");
        Path onlyNew = config("new.json", "{\"storage_backend\": \"file\", \"backends\": {\"file\": {\"directory\": \""
                + store + "\"}}, \"encryption_keys\": {\"k2\": \"base64:" + k2 + "\"}}");
        List<String> ids = createSessions(old, 4);
        assertThat(run("get", ids.get(0), "--config", onlyNew.toString()).err()).contains("k1");

        CliRun rewrite = run("rewrite", "--config", rotated.toString(), "--json");

        assertThat(rewrite.code()).as(rewrite.err()).isZero();
        assertThat(rewrite.json().path("rewritten").asInt()).isEqualTo(4);
        for (String id : ids) {
            assertThat(run("get", id, "--config", onlyNew.toString()).code()).isZero();
        }
    }

    @Test
    void theDemoShowsNoLostUpdatesExpiryAndCleanup() {
        CliRun demo = run("demo");

        assertThat(demo.code()).as(demo.err()).isZero();
        assertThat(demo.out()).contains("counter = 200").contains("no update lost").contains("1.3 s later: gone")
                .contains("alice has 2 sessions");
        JsonNode json = run("demo", "--json").json();
        assertThat(json.path("counter").asInt()).isEqualTo(200);
        assertThat(json.path("expired_session_gone").asBoolean()).isTrue();
        assertThat(json.path("live_sessions").asInt()).isEqualTo(2);
    }

    // ---- migrate ----

    @Test
    void migrateFileToFileIsVerifiedIdempotentAndDeletesTheSourceOnlyWhenAsked() throws Exception {
        Path source = fileStore("source");
        Path target = fileStore("target");
        List<String> ids = createSessions(source, 12);
        run("touch", ids.get(0), "--config", source.toString());

        CliRun dry = run("migrate", "--from", source.toString(), "--to", target.toString(), "--dry-run", "--json");
        assertThat(dry.code()).as(dry.err()).isZero();
        assertThat(dry.json().path("copied").asInt()).isEqualTo(12);
        assertThat(run("list", "--config", target.toString(), "--json").json()).isEmpty();

        CliRun first = run("migrate", "--from", source.toString(), "--to", target.toString());
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.out()).containsPattern("copied and verified\\s+12").containsPattern("failed\\s+0")
                .contains("sessions/s");
        assertThat(first.err()).contains("progress: 12/12");
        for (String id : ids) {
            assertSameSession(run("get", id, "--config", target.toString(), "--json").json(),
                    run("get", id, "--config", source.toString(), "--json").json());
        }

        JsonNode again = run("migrate", "--from", source.toString(), "--to", target.toString(), "--json").json();
        assertThat(again.path("copied").asInt()).isZero();
        assertThat(again.path("skipped_present").asInt()).isEqualTo(12);

        JsonNode moved = run("migrate", "--from", source.toString(), "--to", target.toString(), "--delete-source",
                "--json").json();
        assertThat(moved.path("deleted_from_source").asInt()).isEqualTo(12);
        assertThat(run("list", "--config", source.toString(), "--json").json()).isEmpty();
        assertThat(run("list", "--config", target.toString(), "--json").json()).hasSize(12);
    }

    @Test
    void aNewerTargetVersionIsKeptAndACorruptSourceRecordKeepsTheSource() throws Exception {
        Path source = fileStore("src2");
        Path target = fileStore("dst2");
        List<String> ids = createSessions(source, 3);
        assertThat(run("migrate", "--from", source.toString(), "--to", target.toString()).code()).isZero();
        try (var target2 = io.sessionbuddy.spi.SessionBuddy.open(new io.sessionbuddy.core.config.ConfigLoader(
                java.util.Map.of(), java.util.Map.of()).load(target))) {
            // a newer version in the target (an update; a touch moves the expiry only)
            assertThat(target2.manager().updateSession(ids.get(1), java.util.Map.of("permissions",
                    List.of("changed")), null).join()).isTrue();
        }
        Files.writeString(dir.resolve("src2").resolve("default").resolve("0123456789abcdef.json"), "{not json");

        CliRun result = run("migrate", "--from", source.toString(), "--to", target.toString(), "--delete-source",
                "--json");

        assertThat(result.code()).isEqualTo(1);
        assertThat(result.json().path("failed").asInt()).isEqualTo(1);
        assertThat(result.json().path("failures").path("0123456789abcdef").asText()).contains("0123456789abcdef.json");
        assertThat(result.json().path("skipped_present").asInt()).isEqualTo(3);
        assertThat(result.json().path("deleted_from_source").asInt()).isZero();
        assertThat(run("list", "--config", source.toString(), "--json").json()).hasSize(3);
        assertThat(run("get", ids.get(1), "--config", target.toString(), "--json").json().path("version").asLong())
                .isEqualTo(2);
    }

    @Test
    void migrateFromFileToMemoryCopiesAndVerifies() throws Exception {
        Path source = fileStore("src3");
        createSessions(source, 5);
        Path memory = config("memory.json", "{\"storage_backend\": \"memory\"}");

        CliRun result = run(true, Map.of(), "migrate", "--from", source.toString(), "--to", memory.toString());

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).containsPattern("copied and verified\\s+5");
        assertThat(result.err()).contains("\r[").contains("5/5");
    }

    @Test
    void migrateFromFileToARealRedisServer() throws Exception {
        try (RedisTestServer server = RedisTestServer.start()) {
            Path source = fileStore("src4");
            List<String> ids = createSessions(source, 25);
            Path redis = config("redis.json", "{\"storage_backend\": \"redis\", \"backends\": {\"redis\": "
                    + "{\"host\": \"127.0.0.1\", \"port\": " + server.port() + ", \"namespace\": \"migrated\"}}}");

            CliRun first = run("migrate", "--from", source.toString(), "--to", redis.toString(), "--json");
            assertThat(first.code()).as(first.err()).isZero();
            assertThat(first.json().path("copied").asInt()).isEqualTo(25);
            assertThat(run("list", "--config", redis.toString(), "--user", "user1", "--json").json()).hasSize(8);
            assertSameSession(run("get", ids.get(3), "--config", redis.toString(), "--json").json(),
                    run("get", ids.get(3), "--config", source.toString(), "--json").json());

            JsonNode second = run("migrate", "--from", source.toString(), "--to", redis.toString(), "--json").json();
            assertThat(second.path("copied").asInt()).isZero();
            assertThat(second.path("skipped_present").asInt()).isEqualTo(25);
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : List.of("create", "get", "list", "delete", "touch", "cleanup", "health", "stats",
                "rewrite", "migrate", "demo")) {
            CliRun help = run(command, "--help");
            assertThat(help.code()).as(command + " --help: " + help.err()).isZero();
            assertThat(help.out()).as(command).contains("Usage:").contains(command);
        }
    }

    @Test
    void anInvalidSessionIdIsAUsageErrorOnOneLine() {
        CliRun get = run("get", "bad\u0001id");
        assertThat(get.code()).isEqualTo(2);
        assertThat(get.err().strip().lines()).hasSize(1);
    }
}
