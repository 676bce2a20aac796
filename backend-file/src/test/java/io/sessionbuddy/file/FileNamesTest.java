package io.sessionbuddy.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How ids become file names: never the raw id, distinct on case-insensitive file systems, reversible. */
class FileNamesTest {
    private static final List<String> IDS = List.of("0123456789abcdef0123456789abcdef", "sess 42", "ünïcødé-session",
            "x".repeat(129), "proj:1:abc", "../x", "..", ".", "../../etc/passwd", "a/b", "a\\b", "C:\\x", "{tag}",
            "Sess-A", "sess-a", "SESS-A", "CASE", "case", "日".repeat(170) + "ab", "é".repeat(60), "é".repeat(61),
            "🎉", "nul-free", "~x", "~~", "con", "aux.txt", "trailing.", " lead", "*?<>|\"");

    @TempDir
    Path directory;

    @Test
    void namesAreSafeShortDistinctIgnoringCaseAndReadBack() {
        Set<String> folded = new HashSet<>();
        for (String id : IDS) {
            assertThat(SessionIds.isValid(id)).as(id).isTrue();
            String name = FileNames.of(id);
            assertThat(name).as(id).matches("[a-z0-9._~-]+").doesNotStartWith(".");
            assertThat(name.getBytes(StandardCharsets.UTF_8).length + ".json.4194304.7fffffffffffffff.tmp".length())
                    .as("%s fits a 255-byte file name with the temp suffix", id).isLessThanOrEqualTo(255);
            assertThat(folded.add(name.toLowerCase(Locale.ROOT))).as("%s distinct ignoring case", id).isTrue();
            if (FileNames.isHashed(name)) {
                assertThat(FileNames.id(name)).isNull(); // read from the id file
            } else {
                assertThat(FileNames.id(name)).as(name).isEqualTo(id);
            }
        }
        assertThat(FileNames.of("0123456789abcdef0123456789abcdef")).as("generated ids keep their names")
                .isEqualTo("0123456789abcdef0123456789abcdef");
        assertThat(FileNames.of("../x")).as("RFC 4648 base32, lower case, no padding").isEqualTo("~fyxc66a");
        assertThat(FileNames.of("Sess-A")).isEqualTo("~knsxg4znie");
        assertThat(FileNames.isHashed(FileNames.of("é".repeat(60)))).isFalse();
        assertThat(FileNames.isHashed(FileNames.of("é".repeat(61)))).isTrue();
        // names this store never makes read as no id: foreign files are not taken for sessions
        for (String foreign : List.of("~A", "~1", "~aa", "Upper", ".hidden", "~", "a b")) {
            assertThat(FileNames.id(foreign)).as(foreign).isNull();
        }
        assertThat(FileNames.earlierVersionId("Sess-A")).isEqualTo("Sess-A");
        assertThat(FileNames.earlierVersionId("sess-a")).isNull();
        assertThat(FileNames.earlierVersionId("~abc")).isNull();
    }

    @Test
    void noFileNameHoldsARawIdAndNothingIsWrittenOutsideTheDirectory() throws Exception {
        Path root = Files.createDirectories(directory.resolve("store"));
        try (FileSessionStorage storage = FileSessionStorage.builder(root).build()) {
            for (String id : IDS) {
                storage.storeSession(SessionState.builder(id, "u", "p").createdAt(Instant.now()).build(), null).join();
            }
            assertThat(storage.listStoredSessionIds().join()).containsExactlyInAnyOrderElementsOf(IDS);
        }
        try (Stream<Path> outside = Files.list(directory)) {
            assertThat(outside.toList()).containsExactly(root);
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path file : all.toList()) {
                assertThat(file.getFileName().toString()).as(file.toString()).matches("[A-Za-z0-9._~-]+");
            }
        }
        assertThat(Files.exists(Path.of("/etc/passwd.json"))).isFalse();
        // a long id's record has its id beside it; deleting the session removes both
        String longId = "é".repeat(61);
        Path ns = root.resolve(FileSessionStorage.DEFAULT_NAMESPACE);
        Path idFile = ns.resolve(FileNames.of(longId) + FileSessionStorage.ID_SUFFIX);
        assertThat(Files.readString(idFile)).isEqualTo(longId);
        try (FileSessionStorage storage = FileSessionStorage.builder(root).build()) {
            assertThat(storage.deleteSession(longId).join()).isTrue();
        }
        assertThat(idFile).doesNotExist();
    }

    @Test
    void filesOfVersion01WithUpperCaseIdsAreRenamedWhenOpenedAndStayListed() throws Exception {
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
            storage.storeSession(SessionState.builder("Sess-A", "alice", "p").createdAt(Instant.now()).build(), null)
                    .join();
            storage.storeSession(SessionState.builder("lower", "alice", "p").createdAt(Instant.now()).build(), null)
                    .join();
        }
        // as version 0.1 left them: the record and its markers named by the id itself
        Path ns = directory.resolve(FileSessionStorage.DEFAULT_NAMESPACE);
        Files.move(ns.resolve(FileNames.of("Sess-A") + ".json"), ns.resolve("Sess-A.json"));
        try (Stream<Path> markers = Files.walk(ns.resolve(FileSessionStorage.INDEX_DIR))) {
            for (Path marker : markers.filter(p -> p.getFileName().toString().equals(FileNames.of("Sess-A"))).toList()) {
                Files.move(marker, marker.resolveSibling("Sess-A"));
            }
        }
        try (FileSessionStorage storage = FileSessionStorage.builder(directory).build()) {
            assertThat(storage.retrieveSession("Sess-A").join()).isPresent();
            assertThat(storage.listSessions("alice", null).join()).containsExactlyInAnyOrder("Sess-A", "lower");
            assertThat(storage.retrieveSession("sess-a").join()).isEmpty();
        }
        assertThat(ns.resolve("Sess-A.json")).doesNotExist();
    }

    @Test
    void theWriterOfATempFileIsReadFromItsName() {
        assertThat(FileSessionStorage.tempFileOwner("abc.json.4242.1f3a.tmp")).isEqualTo(4242);
        assertThat(FileSessionStorage.tempFileOwner("~x.id.7.0.tmp")).isEqualTo(7);
        assertThat(FileSessionStorage.tempFileOwner("a.b.json.12.ff.tmp")).isEqualTo(12);
        for (String name : List.of("abc.json.tmp", "abc.json.12.tmp", "abc.txt.12.ff.tmp", "abc.json.x2.ff.tmp",
                "abc.json.12.FF.tmp", "abc.json.12.fg.tmp", "abc.json..ff.tmp", "abc.json.12..tmp", ".tmp", "x.tmp",
                "abc.json.12.ff", "abc.json.1234567890123456789012.ff.tmp", "json.12.ff.tmp")) {
            assertThat(FileSessionStorage.tempFileOwner(name)).as(name).isEqualTo(-1);
        }
    }
}
