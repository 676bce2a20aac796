package io.sessionbuddy.memory;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.StoredFormat;
import io.sessionbuddy.testkit.SessionStorageContract;
import java.time.Clock;

class MemorySessionStorageTest extends SessionStorageContract {
    @Override
    protected SessionStorage createStorage(Clock clock, StoredFormat format) {
        return MemorySessionStorage.builder().clock(clock).storedFormat(format).build();
    }
}
