package io.sessionbuddy.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.SessionBuddy;
import io.sessionbuddy.spi.StorageProvider;
import io.sessionbuddy.spi.StorageProviders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileStorageProviderTest {
    @TempDir
    Path directory;

    @Test
    void serviceLoaderFindsTheFileProvider() {
        assertThat(StorageProviders.discover()).extracting(StorageProvider::name).contains("file");
    }

    @Test
    void createWorksFromAPlainMap() {
        try (FileSessionStorage storage = (FileSessionStorage) new FileStorageProvider().create(
                BackendSettings.of("file", Map.of("directory", directory.toString(), "namespace", "svc")))) {
            assertThat(storage.directory()).isEqualTo(directory.toAbsolutePath().resolve("svc"));
            assertThat(storage.isAvailable().join()).isTrue();
        }
    }

    @Test
    void theOriginalsLocalConfigOpensTheFileBackendInItsStorageDir() {
        String json = """
                { "storage_backend": "local", "session_ttl_hours": 24,
                  "backends": { "local": { "storage_dir": "%s" } } }
                """.formatted(directory.toString().replace("\\", "\\\\"));
        SessionBuddyConfig config = new ConfigLoader(Map.of(), Map.of()).parse(json, "seed.json");

        try (SessionBuddy buddy = SessionBuddy.open(config)) {
            String id = buddy.manager().createSession("u", "p").join();
            assertThat(Files.exists(directory.resolve("default").resolve(id + ".json"))).isTrue();
        }
        assertThat(config.deprecations()).hasSize(1);
    }

    @Test
    void badSettingsNameTheKey() {
        assertThatThrownBy(() -> new FileStorageProvider().create(BackendSettings.of("file",
                Map.of("directory", directory.toString(), "namespace", "../x"))))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.file.namespace");
        SessionBuddyConfig typo = new ConfigLoader(Map.of("SESSION_BUDDY_FILE_DIRECTORY", directory.toString()), Map.of())
                .parse("{\"storage_backend\": \"file\", \"backends\": {\"file\": {\"directroy\": \"x\"}}}", "app.json");
        assertThatThrownBy(() -> SessionBuddy.open(typo)).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("backends.file.directroy");
    }

    @Test
    void aTypoIsReportedBeforeAnyDirectoryIsCreated() throws Exception {
        java.nio.file.Path wanted = directory.resolve("not-yet");
        String json = "{\"storage_backend\": \"file\", \"backends\": {\"file\": {\"directory\": \""
                + wanted.toString().replace("\\", "\\\\") + "\", \"namesapce\": \"x\"}}}";
        SessionBuddyConfig typo = new ConfigLoader(Map.of(), Map.of()).parse(json, "app.json");

        assertThatThrownBy(() -> SessionBuddy.open(typo)).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("app.json").hasMessageContaining("backends.file.namesapce");
        assertThat(java.nio.file.Files.exists(wanted)).isFalse();
    }
}
