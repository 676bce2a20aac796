package io.sessionbuddy.core.format;

import io.sessionbuddy.core.CorruptSessionException;

import java.util.Objects;

/**
 * How sessions are written as bytes by the backends that store bytes (file, redis, s3): the
 * compression, the encryption keys and the size limits. Loaded from the top-level config keys
 * {@code compression}, {@code compression_threshold_bytes}, {@code max_session_bytes},
 * {@code max_decoded_bytes}, {@code encryption_keys}, {@code encryption_active_key},
 * {@code encryption_required} and {@code stored_format_version}.
 *
 * @param compression the compression of payloads at or above the threshold
 * @param compressionThresholdBytes payloads shorter than this are not compressed (default 1 KiB)
 * @param maxSessionBytes the largest JSON encoding of a session a write accepts (default 4 MiB);
 *     enforced by every backend, memory included
 * @param maxDecodedBytes the most bytes a stored record may decode to (default 64 MiB, never less
 *     than {@code maxSessionBytes}); bounds decompression so that a small hostile record cannot
 *     exhaust memory
 * @param keyRing the encryption keys; {@link KeyRing#none()} = no encryption
 * @param encryptionRequired with keys configured, whether a record that is not encrypted is refused
 *     on read ({@link CorruptSessionException.Reason#NOT_ENCRYPTED}); default {@code true}, so that
 *     whoever can write to the store cannot plant a session. Switch it off only while a store is
 *     being moved to encryption (then {@code session-buddy rewrite} finishes the move). Without keys
 *     it has no effect.
 * @param writeVersion the envelope version written where a backend uses what it adds (1 or 2,
 *     default {@link SessionRecordCodec#FORMAT_VERSION}): version 2 carries a summary (version,
 *     expiry, owner hashes) that the file backend reads instead of decoding. Set 1 while
 *     instances of an older build (which read only version 1) still read the same store (they refuse version 2 as
 *     {@link CorruptSessionException.Reason#UNSUPPORTED_VERSION}); every version is always read.
 */
public record StoredFormat(Compression compression, int compressionThresholdBytes, int maxSessionBytes,
        int maxDecodedBytes, KeyRing keyRing, boolean encryptionRequired, int writeVersion) {
    /** Default compression, where zstd-jni is on the class path (else gzip: {@link Compression#preferred()}). */
    public static final Compression DEFAULT_COMPRESSION = Compression.ZSTD;
    /** Default compression threshold: 1 KiB. */
    public static final int DEFAULT_COMPRESSION_THRESHOLD_BYTES = 1024;
    /** Default size limit: 4 MiB. */
    public static final int DEFAULT_MAX_SESSION_BYTES = 4 * 1024 * 1024;
    /** Default decode bound: 64 MiB. */
    public static final int DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024;

    /**
     * Checks the values.
     *
     * @param compression the compression of payloads at or above the threshold
     * @param compressionThresholdBytes payloads shorter than this are not compressed
     * @param maxSessionBytes the largest JSON encoding of a session a write accepts
     * @param maxDecodedBytes the most bytes a stored record may decode to
     * @param keyRing the encryption keys
     * @param encryptionRequired whether, with keys, a record that is not encrypted is refused
     * @param writeVersion the envelope version written (1 or 2)
     * @throws IllegalArgumentException for a value out of range
     */
    public StoredFormat {
        Objects.requireNonNull(compression, "compression");
        Objects.requireNonNull(keyRing, "keyRing");
        if (!compression.isAvailable()) {
            throw new IllegalArgumentException("compression " + compression.configName() + " needs"
                    + " com.github.luben:zstd-jni on the class path (the file, redis and s3 backends bring it)");
        }
        if (compressionThresholdBytes < 0) {
            throw new IllegalArgumentException("compressionThresholdBytes must not be negative");
        }
        if (maxSessionBytes <= 0) {
            throw new IllegalArgumentException("maxSessionBytes must be positive");
        }
        if (maxDecodedBytes < maxSessionBytes) {
            throw new IllegalArgumentException("maxDecodedBytes must be at least maxSessionBytes");
        }
        if (writeVersion < 1 || writeVersion > SessionRecordCodec.FORMAT_VERSION) {
            throw new IllegalArgumentException("writeVersion must be 1 to " + SessionRecordCodec.FORMAT_VERSION
                    + ", was " + writeVersion);
        }
    }

    /**
     * Written out rather than generated: a record's generated {@code equals} bootstraps method
     * handles on first use (tens of milliseconds), and this one runs on every start.
     */
    @Override
    public boolean equals(Object other) {
        return other instanceof StoredFormat o && compression == o.compression
                && compressionThresholdBytes == o.compressionThresholdBytes && maxSessionBytes == o.maxSessionBytes
                && maxDecodedBytes == o.maxDecodedBytes && keyRing.equals(o.keyRing)
                && encryptionRequired == o.encryptionRequired && writeVersion == o.writeVersion;
    }

    @Override
    public int hashCode() {
        return Objects.hash(compression, compressionThresholdBytes, maxSessionBytes, maxDecodedBytes, keyRing,
                encryptionRequired, writeVersion);
    }

    /**
     * A format writing the newest envelope version.
     *
     * @param compression the compression of payloads at or above the threshold
     * @param compressionThresholdBytes payloads shorter than this are not compressed
     * @param maxSessionBytes the largest JSON encoding of a session a write accepts
     * @param maxDecodedBytes the most bytes a stored record may decode to
     * @param keyRing the encryption keys
     * @param encryptionRequired whether, with keys, a record that is not encrypted is refused
     */
    public StoredFormat(Compression compression, int compressionThresholdBytes, int maxSessionBytes,
            int maxDecodedBytes, KeyRing keyRing, boolean encryptionRequired) {
        this(compression, compressionThresholdBytes, maxSessionBytes, maxDecodedBytes, keyRing, encryptionRequired,
                SessionRecordCodec.FORMAT_VERSION);
    }

    /**
     * A format that, with keys, requires encryption (the default).
     *
     * @param compression the compression of payloads at or above the threshold
     * @param compressionThresholdBytes payloads shorter than this are not compressed
     * @param maxSessionBytes the largest JSON encoding of a session a write accepts
     * @param maxDecodedBytes the most bytes a stored record may decode to
     * @param keyRing the encryption keys
     */
    public StoredFormat(Compression compression, int compressionThresholdBytes, int maxSessionBytes,
            int maxDecodedBytes, KeyRing keyRing) {
        this(compression, compressionThresholdBytes, maxSessionBytes, maxDecodedBytes, keyRing, true);
    }

    /**
     * Whether a record must be encrypted to be read: keys are configured and encryption is required.
     *
     * @return whether a record must be encrypted to be read: keys are configured and encryption is required
     */
    public boolean refusesPlaintext() {
        return encryptionRequired && !keyRing.isEmpty();
    }

    /**
     * This format with encryption required or not (see {@link #encryptionRequired()}).
     *
     * @param value whether a record that is not encrypted is refused
     * @return the new format
     */
    public StoredFormat withEncryptionRequired(boolean value) {
        return new StoredFormat(compression, compressionThresholdBytes, maxSessionBytes, maxDecodedBytes, keyRing, value, writeVersion);
    }

    /**
     * zstd above 1 KiB (gzip when zstd-jni is not on the class path), 4 MiB limit, 64 MiB decode
     * bound, no encryption.
     *
     * @return zstd (gzip without zstd-jni) above 1 KiB, 4 MiB sessions, 64 MiB decoded, no encryption
     */
    public static StoredFormat defaults() {
        return new StoredFormat(Compression.preferred(), DEFAULT_COMPRESSION_THRESHOLD_BYTES, DEFAULT_MAX_SESSION_BYTES,
                DEFAULT_MAX_DECODED_BYTES, KeyRing.none());
    }

    /**
     * This format with another compression.
     *
     * @param value the compression
     * @return the new format
     */
    public StoredFormat withCompression(Compression value) {
        return new StoredFormat(value, compressionThresholdBytes, maxSessionBytes, maxDecodedBytes, keyRing, encryptionRequired,
                writeVersion);
    }

    /**
     * This format with another compression threshold.
     *
     * @param bytes the threshold in bytes
     * @return the new format
     */
    public StoredFormat withCompressionThreshold(int bytes) {
        return new StoredFormat(compression, bytes, maxSessionBytes, maxDecodedBytes, keyRing, encryptionRequired,
                writeVersion);
    }

    /**
     * This format with another size limit (the decode bound grows with it if needed).
     *
     * @param bytes the limit in bytes
     * @return the new format
     */
    public StoredFormat withMaxSessionBytes(int bytes) {
        return new StoredFormat(compression, compressionThresholdBytes, bytes, Math.max(bytes, maxDecodedBytes),
                keyRing, encryptionRequired, writeVersion);
    }

    /**
     * This format with other encryption keys.
     *
     * @param value the keys
     * @return the new format
     */
    public StoredFormat withKeyRing(KeyRing value) {
        return new StoredFormat(compression, compressionThresholdBytes, maxSessionBytes, maxDecodedBytes, value, encryptionRequired,
                writeVersion);
    }

    /**
     * This format writing envelope version {@code version} (see {@link #writeVersion()}).
     *
     * @param version 1 or 2
     * @return the new format
     */
    public StoredFormat withWriteVersion(int version) {
        return new StoredFormat(compression, compressionThresholdBytes, maxSessionBytes, maxDecodedBytes, keyRing,
                encryptionRequired, version);
    }
}
