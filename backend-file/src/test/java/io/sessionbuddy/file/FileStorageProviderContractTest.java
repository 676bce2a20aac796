package io.sessionbuddy.file;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.testkit.RawRecords;
import io.sessionbuddy.testkit.StorageProviderContract;
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
        return FileSessionStorageTest.rawRecordsIn(((FileSessionStorage) storage).directory());
    }
}
