package io.sessionbuddy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.file.FileSessionStorage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** migrate --max-session-bytes: a session over the target's size limit is carried only when asked, and counted. */
class MigrationSizeLimitTest {
    private static final int SIX_MB = 6_000_000;

    @TempDir
    Path dir;

    private Path config(String name, String json) throws Exception {
        return Files.writeString(dir.resolve(name), json);
    }

    private String fileStore(String name, String extra) {
        return "{ \"storage_backend\": \"file\"" + extra + ", \"backends\": { \"file\": { \"directory\": \""
                + dir.resolve(name).toString().replace("\\", "\\\\") + "\" } } }";
    }

    @Test
    void aSessionOverTheTargetsLimitFailsNamingTheOptionAndIsCarriedWithIt() throws Exception {
        try (FileSessionStorage source = FileSessionStorage.builder(dir.resolve("source"))
                .storedFormat(StoredFormat.defaults().withMaxSessionBytes(8 * 1024 * 1024)).build()) {
            source.storeSession(SessionState.builder("big", "u", "p").metadata(Map.of("blob", "x".repeat(SIX_MB)))
                    .build(), null).join();
            source.storeSession(SessionState.builder("small", "u", "p").build(), null).join();
        }
        Path from = config("from.json", fileStore("source", ", \"max_session_bytes\": 8388608"));
        Path to = config("to.json", fileStore("target", ""));

        CliRun refused = CliRun.run(false, Map.of(), "migrate", "--from", from.toString(), "--to", to.toString(),
                "--json");
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.json().path("copied").asInt()).isEqualTo(1);
        assertThat(refused.json().path("over_size_limit").asInt()).isEqualTo(1);
        assertThat(refused.json().path("failures").path("big").asText()).contains("--max-session-bytes")
                .contains("4194304");

        CliRun tooHigh = CliRun.run(false, Map.of(), "migrate", "--from", from.toString(), "--to", to.toString(),
                "--max-session-bytes", "100000000");
        assertThat(tooHigh.code()).isEqualTo(2);
        assertThat(tooHigh.err()).contains("max_decoded_bytes").contains("67108864");

        CliRun carried = CliRun.run(false, Map.of(), "migrate", "--from", from.toString(), "--to", to.toString(),
                "--max-session-bytes", "8388608", "--json");
        assertThat(carried.code()).as(carried.err()).isZero();
        assertThat(carried.json().path("copied").asInt()).isEqualTo(1);
        assertThat(carried.json().path("skipped_present").asInt()).isEqualTo(1);
        assertThat(carried.json().path("over_size_limit").asInt()).isEqualTo(1);
        // the target's own readers (4 MiB limit on writes, 64 MiB on reads) read it
        CliRun get = CliRun.run(false, Map.of(), "get", "big", "--config", to.toString(), "--json");
        assertThat(get.code()).isZero();
        assertThat(get.json().path("metadata").path("blob").asText()).hasSize(SIX_MB);

        CliRun human = CliRun.run(false, Map.of(), "migrate", "--from", from.toString(), "--to", to.toString(),
                "--max-session-bytes", "8388608");
        assertThat(human.out()).contains("over the target's max_session_bytes (4194304), carried up to 8388608");
    }
}
