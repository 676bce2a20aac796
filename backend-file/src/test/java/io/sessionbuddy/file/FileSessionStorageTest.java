package io.sessionbuddy.file;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.testkit.SessionStorageContract;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.io.TempDir;

class FileSessionStorageTest extends SessionStorageContract {
    @TempDir
    Path directory;

    @Override
    protected SessionStorage createStorage(Clock clock) {
        return FileSessionStorage.builder(directory).clock(clock).build();
    }
}
