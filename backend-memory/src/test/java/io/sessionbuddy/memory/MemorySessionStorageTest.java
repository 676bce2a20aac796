package io.sessionbuddy.memory;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.testkit.SessionStorageContract;
import java.time.Clock;

class MemorySessionStorageTest extends SessionStorageContract {
    @Override
    protected SessionStorage createStorage(Clock clock) {
        return MemorySessionStorage.builder().clock(clock).build();
    }
}
