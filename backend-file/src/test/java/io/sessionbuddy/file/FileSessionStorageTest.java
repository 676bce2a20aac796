package io.sessionbuddy.file;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.testkit.RawRecords;
import io.sessionbuddy.testkit.BytesSessionStorageContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the real file system, with the default stored format (zstd over 1 KiB). */
class FileSessionStorageTest extends BytesSessionStorageContract {
    @TempDir
    Path directory;

    @Override
    protected SessionStorage createStorage(Clock clock, StoredFormat format) {
        return reopenStorage(clock, format);
    }

    @Override
    protected SessionStorage reopenStorage(Clock clock, StoredFormat format) {
        return FileSessionStorage.builder(directory).clock(clock).storedFormat(format).build();
    }

    @Override
    protected RawRecords rawRecords() {
        return rawRecordsIn(directory.resolve(FileSessionStorage.DEFAULT_NAMESPACE));
    }

    /** The session files under a namespace directory, read and written directly. */
    static RawRecords rawRecordsIn(Path root) {
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
