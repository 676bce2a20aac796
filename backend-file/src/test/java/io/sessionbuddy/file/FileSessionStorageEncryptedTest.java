package io.sessionbuddy.file;

import io.sessionbuddy.core.format.StoredFormat;

/** The contract on the real file system with AES-256-GCM encryption and compression of every record. */
class FileSessionStorageEncryptedTest extends FileSessionStorageTest {
    @Override
    protected StoredFormat storedFormat() {
        return encryptedFormat();
    }
}
