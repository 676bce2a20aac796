package io.sessionbuddy.file;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.testkit.RawRecords;
import io.sessionbuddy.testkit.StorageProviderContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;

class FileStorageProviderContractTest extends StorageProviderContract {
    @TempDir
    Path directory;

    @Override
    protected String providerName() {
        return "file";
    }

    @Override
    protected Map<String, Object> backendSettings() {
        return Map.of("directory", directory.toString());
    }

    @Override
    protected RawRecords rawRecords(SessionStorage storage) {
        Path root = ((FileSessionStorage) storage).directory();
        return new RawRecords() {
            @Override
            public byte[] read(String sessionId) throws Exception {
                return Files.readAllBytes(root.resolve(sessionId + ".json"));
            }

            @Override
            public void write(String sessionId, byte[] record) throws Exception {
                Files.write(root.resolve(sessionId + ".json"), record);
            }
        };
    }
}
