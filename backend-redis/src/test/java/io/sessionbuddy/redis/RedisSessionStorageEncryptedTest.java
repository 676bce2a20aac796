package io.sessionbuddy.redis;

import io.sessionbuddy.core.format.StoredFormat;

/** The contract against a real redis-server with AES-256-GCM encryption and compression of every record. */
class RedisSessionStorageEncryptedTest extends RedisSessionStorageTest {
    @Override
    protected StoredFormat storedFormat() {
        return encryptedFormat();
    }
}
