package io.sessionbuddy.s3;

import io.sessionbuddy.core.format.StoredFormat;

/** The contract against a real S3-protocol server with AES-256-GCM encryption and compression of every record. */
class S3SessionStorageEncryptedTest extends S3SessionStorageTest {
    @Override
    protected StoredFormat storedFormat() {
        return encryptedFormat();
    }
}
