package io.sessionbuddy.file;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.zip.CRC32C;

/**
 * What a touch leaves beside a session's record ({@code <name>.touch}, 32 bytes): the expiry it gave
 * the session, bound to the record it was made for by that record's version and the CRC-32C of its
 * bytes, so that it is never applied to another record (a later write, or the same id written again
 * with the same version), and checked by a CRC-32C of its own.
 *
 * <pre>
 * 0  "SBT1"                      4 bytes
 * 4  record version              8 bytes, big-endian
 * 12 CRC-32C of the record file  4 bytes
 * 16 expiry, epoch seconds       8 bytes
 * 24 expiry, nanoseconds         4 bytes
 * 28 CRC-32C of bytes 0 to 27    4 bytes
 * </pre>
 */
final class TouchFile {
    /** The length of a touch file. */
    static final int LENGTH = 32;
    private static final int MAGIC = 0x53425431; // "SBT1"

    private final long version;
    private final int recordChecksum;
    private final Instant expiresAt;

    private TouchFile(long version, int recordChecksum, Instant expiresAt) {
        this.version = version;
        this.recordChecksum = recordChecksum;
        this.expiresAt = expiresAt;
    }

    /** A touch of {@code record} (of {@code version}) to {@code expiresAt}. */
    static TouchFile of(long version, byte[] record, Instant expiresAt) {
        return new TouchFile(version, checksum(record, 0, record.length), expiresAt);
    }

    /** The touch file in the first {@code length} bytes of {@code bytes}, or {@code null} when damaged. */
    static TouchFile parse(byte[] bytes, int length) {
        if (length != LENGTH) {
            return null;
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes, 0, LENGTH);
        if (buffer.getInt(0) != MAGIC || buffer.getInt(LENGTH - 4) != checksum(bytes, 0, LENGTH - 4)) {
            return null;
        }
        long seconds = buffer.getLong(16);
        int nanos = buffer.getInt(24);
        if (nanos < 0 || nanos > 999_999_999 || seconds < Instant.MIN.getEpochSecond()
                || seconds > Instant.MAX.getEpochSecond()) {
            return null;
        }
        return new TouchFile(buffer.getLong(4), buffer.getInt(12), Instant.ofEpochSecond(seconds, nanos));
    }

    /** The file's bytes. */
    byte[] bytes() {
        ByteBuffer buffer = ByteBuffer.allocate(LENGTH);
        buffer.putInt(MAGIC).putLong(version).putInt(recordChecksum).putLong(expiresAt.getEpochSecond())
                .putInt(expiresAt.getNano());
        buffer.putInt(checksum(buffer.array(), 0, LENGTH - 4));
        return buffer.array();
    }

    /** Whether this touch was made for the record {@code record} of {@code recordVersion}. */
    boolean appliesTo(long recordVersion, byte[] record) {
        return version == recordVersion && recordChecksum == checksum(record, 0, record.length);
    }

    /** The expiry the touch gave the session. */
    Instant expiresAt() {
        return expiresAt;
    }

    private static int checksum(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }
}
