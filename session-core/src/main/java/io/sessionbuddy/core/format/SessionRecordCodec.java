package io.sessionbuddy.core.format;

import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionJsonCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionTooLargeException;

import io.sessionbuddy.core.CorruptSessionException.Reason;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.zip.CRC32C;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * The stored format shared by every backend that stores bytes: a session's JSON, optionally
 * compressed, optionally encrypted with AES-256-GCM, in a small versioned envelope.
 *
 * <pre>
 * offset  size  field
 * 0       3     magic "SBF"
 * 3       1     format version (1 or 2)
 * 4       1     compression id (0 none, 1 gzip, 2 zstd)
 * 5       1     cipher id (0 none, 1 AES-256-GCM)
 * 6       1     key id length n (0 when not encrypted)
 * 7       n     key id (ASCII)
 *               when encrypted: key check (4), nonce (12), binding (4)
 *               version 2 only, the summary (84): record version (8), expires_at epoch
 *               seconds (8) and nanoseconds (4, -1 = none), SHA-256 of user id (32) and of
 *               project id (32)
 *         4     decoded length: bytes of the JSON
 *         4     payload length
 *         ...   payload: the (compressed) JSON, or its ciphertext with the 16-byte GCM tag
 *         4     CRC32C of every byte before it
 * </pre>
 *
 * <p>Encryption uses a fresh random 96-bit nonce per write; the associated data is the header and
 * the scope (the backend's namespace) and session id, so a record copied to another id or
 * namespace does not decrypt. The binding field (four bytes of SHA-256 of scope and id) and the
 * key check (four bytes of an HMAC of a fixed label under the key) only serve to tell a moved record
 * and a wrong key apart from tampering; the GCM tag is what authenticates.
 *
 * <p>The summary of version 2 lets a backend learn a record's version, expiry and owners without
 * decompressing or parsing it ({@link #summary}); it is covered by the CRC and, when encrypted, by
 * the GCM tag, and a decode checks that it agrees with the body. A backend asks for it with
 * {@link #encode(SessionState, String, boolean)}; {@link StoredFormat#writeVersion()} 1 turns it
 * off for rolling upgrades.
 *
 * <p>Reading accepts every earlier form: plain JSON records (written before the envelope existed)
 * and gzip-compressed JSON (the original Python store's records). A record of a newer format
 * version fails with {@link Reason#UNSUPPORTED_VERSION}. Decompression is bounded by
 * {@link StoredFormat#maxDecodedBytes()}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class SessionRecordCodec {
    /** The newest format version this library writes and reads. */
    public static final int FORMAT_VERSION = 2;
    /** Bytes of the version 2 summary. */
    private static final int SUMMARY_BYTES = 8 + 8 + 4 + 32 + 32;

    private static final byte[] MAGIC = {'S', 'B', 'F'};
    private static final int CIPHER_NONE = 0;
    private static final int CIPHER_AES_GCM = 1;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final int TAG_BYTES = TAG_BITS / 8;
    /** Made on the first record encrypted: see {@code SessionIds}' own, for what the first one costs. */
    private static final class Random {
        static final SecureRandom INSTANCE = new SecureRandom();
    }

    private static final HexFormat HEX = HexFormat.of();

    private final StoredFormat format;

    /**
     * A codec writing {@code format}.
     *
     * @param format compression, encryption keys and size limits
     */
    public SessionRecordCodec(StoredFormat format) {
        this.format = Objects.requireNonNull(format, "format");
    }

    /**
     * The format this codec writes.
     *
     * @return the format this codec writes
     */
    public StoredFormat format() {
        return format;
    }

    /**
     * The JSON size of {@code state}, checked against the limit (for stores that keep objects).
     *
     * @param state the session
     * @return its JSON size in bytes
     * @throws SessionTooLargeException when it is over {@link StoredFormat#maxSessionBytes()}
     */
    public int checkSize(SessionState state) {
        long size = SessionJsonCodec.size(state);
        if (size > format.maxSessionBytes()) {
            throw new SessionTooLargeException(null, state.sessionId(), size, format.maxSessionBytes());
        }
        return (int) size;
    }

    /**
     * Checks {@code state} against the size limit without encoding it when a cheap upper bound of
     * its JSON size is already within the limit (stores that keep objects: memory); only a session
     * near or over the limit is encoded to count exactly, so the same sessions are accepted as by
     * {@link #encode}.
     *
     * @param state the session
     * @throws SessionTooLargeException when it is over {@link StoredFormat#maxSessionBytes()}
     */
    public void checkLimit(SessionState state) {
        if (SessionJsonCodec.sizeUpperBound(state) > format.maxSessionBytes()) {
            checkSize(state);
        }
    }

    /**
     * The stored bytes of {@code state}.
     *
     * @param state the session
     * @param scope the namespace the record is written to (bound into encrypted records)
     * @return the record
     * @throws SessionTooLargeException when the JSON is over {@link StoredFormat#maxSessionBytes()}
     */
    public byte[] encode(SessionState state, String scope) {
        return encode(state, scope, false);
    }

    /**
     * The stored bytes of {@code state}, with the {@linkplain #summary summary} when
     * {@code withSummary} is set and {@link StoredFormat#writeVersion()} is 2.
     *
     * @param state the session
     * @param scope the namespace the record is written to (bound into encrypted records)
     * @param withSummary whether the backend reads the summary (the file backend does)
     * @return the record
     * @throws SessionTooLargeException when the JSON is over {@link StoredFormat#maxSessionBytes()}
     */
    public byte[] encode(SessionState state, String scope, boolean withSummary) {
        EncodeBuffer json = EncodeBuffer.take();
        EncodeBuffer packed = null;
        try {
            SessionJsonCodec.writeTo(state, json);
            int jsonLength = json.size();
            if (jsonLength > format.maxSessionBytes()) {
                throw new SessionTooLargeException(null, state.sessionId(), jsonLength, format.maxSessionBytes());
            }
            Compression compression = format.compression();
            byte[] payload = json.array();
            int payloadSize = jsonLength;
            if (compression != Compression.NONE && jsonLength >= format.compressionThresholdBytes()) {
                packed = EncodeBuffer.take();
                compress(compression, json.array(), jsonLength, packed);
                if (packed.size() < jsonLength) {
                    payload = packed.array();
                    payloadSize = packed.size();
                } else {
                    compression = Compression.NONE;
                }
            } else {
                compression = Compression.NONE;
            }
            return envelope(state, scope, withSummary, compression, jsonLength, payload, payloadSize);
        } finally {
            json.release();
            if (packed != null) {
                packed.release();
            }
        }
    }

    /** The record around a payload: {@code payload[0, payloadSize)}, compressed with {@code compression}. */
    private byte[] envelope(SessionState state, String scope, boolean withSummary, Compression compression,
            int jsonLength, byte[] payload, int payloadSize) {
        KeyRing ring = format.keyRing();
        boolean encrypt = !ring.isEmpty();
        byte[] keyId = encrypt ? ring.activeKeyId().getBytes(StandardCharsets.US_ASCII) : new byte[0];
        int payloadLength = encrypt ? payloadSize + TAG_BYTES : payloadSize;
        boolean summary = withSummary && format.writeVersion() >= 2;
        int headerLength = 7 + keyId.length + (encrypt ? 4 + NONCE_BYTES + 4 : 0) + (summary ? SUMMARY_BYTES : 0) + 8;
        ByteBuffer out = ByteBuffer.allocate(headerLength + payloadLength + 4);
        out.put(MAGIC).put((byte) (summary ? 2 : 1)).put((byte) compression.id())
                .put((byte) (encrypt ? CIPHER_AES_GCM : CIPHER_NONE)).put((byte) keyId.length).put(keyId);
        byte[] nonce = null;
        if (encrypt) {
            nonce = new byte[NONCE_BYTES];
            Random.INSTANCE.nextBytes(nonce);
            out.put(ring.check(ring.activeKeyId())).put(nonce).put(binding(scope, state.sessionId()));
        }
        if (summary) {
            Instant expires = state.expiresAt();
            out.putLong(state.version()).putLong(expires == null ? 0 : expires.getEpochSecond())
                    .putInt(expires == null ? -1 : expires.getNano())
                    .put(sha256(state.userId())).put(sha256(state.projectId()));
        }
        out.putInt(jsonLength).putInt(payloadLength);
        if (encrypt) {
            try {
                Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
                cipher.init(Cipher.ENCRYPT_MODE, ring.key(ring.activeKeyId()), new GCMParameterSpec(TAG_BITS, nonce));
                cipher.updateAAD(out.array(), 0, headerLength);
                cipher.updateAAD(associatedData(scope, state.sessionId()));
                int written = cipher.doFinal(payload, 0, payloadSize, out.array(), headerLength);
                out.position(headerLength + written);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM encryption failed: " + e.getMessage(), e);
            }
        } else {
            out.put(payload, 0, payloadSize);
        }
        CRC32C crc = new CRC32C();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }

    /**
     * Reads a stored record.
     *
     * @param record the stored bytes
     * @param scope the namespace it was read from
     * @param expectedId the session id it was stored under
     * @return the session
     * @throws CorruptSessionException saying why (see {@link CorruptSessionException#reason()})
     */
    public SessionState decode(byte[] record, String scope, String expectedId) {
        return decode(record, scope, expectedId, java.time.ZoneOffset.UTC);
    }

    /**
     * Reads a stored record, taking timestamps without a zone to be in {@code naiveZone} (the
     * original store's records up to v0.20.0 hold the writing host's local time).
     *
     * @param record the stored bytes
     * @param scope the namespace it was read from
     * @param expectedId the session id it was stored under
     * @param naiveZone the zone of timestamps written without one
     * @return the session
     * @throws CorruptSessionException saying why (see {@link CorruptSessionException#reason()})
     */
    public SessionState decode(byte[] record, String scope, String expectedId, java.time.ZoneId naiveZone) {
        return decode(record, scope, expectedId, naiveZone, false);
    }

    /**
     * Reads a stored record as {@link #decode(byte[], String, String, java.time.ZoneId)} does; with
     * {@code originalNumbers}, the {@code NaN} and {@code Infinity} of the original store's
     * records are read as {@code null} (see {@link SessionJsonCodec#fromBytes(byte[], int, int,
     * java.time.ZoneId, boolean)}).
     *
     * @param record the stored bytes
     * @param scope the namespace it was read from
     * @param expectedId the session id it was stored under
     * @param naiveZone the zone of timestamps written without one
     * @param originalNumbers whether {@code NaN} and infinities are read as {@code null}
     * @return the session
     * @throws CorruptSessionException saying why (see {@link CorruptSessionException#reason()})
     */
    public SessionState decode(byte[] record, String scope, String expectedId, java.time.ZoneId naiveZone,
            boolean originalNumbers) {
        java.util.Objects.requireNonNull(naiveZone, "naiveZone");
        SessionState state;
        if (startsWith(record, MAGIC)) {
            if (format.refusesPlaintext() && record.length > 5 && record[5] == CIPHER_NONE) {
                throw notEncrypted(expectedId);
            }
            state = decodeEnvelope(record, scope, expectedId, naiveZone, originalNumbers);
        } else if (format.refusesPlaintext()) {
            throw notEncrypted(expectedId);
        } else if (record.length >= 2 && (record[0] & 0xff) == 0x1f && (record[1] & 0xff) == 0x8b) {
            state = parse(gunzip(record, 0, record.length, format.maxDecodedBytes(), expectedId), expectedId, naiveZone,
                    originalNumbers);
        } else if (looksLikeJson(record)) {
            if (record.length > format.maxDecodedBytes()) {
                throw corrupt(expectedId, Reason.TOO_LARGE, "plain JSON record of " + record.length
                        + " bytes is over max_decoded_bytes (" + format.maxDecodedBytes() + ")", null);
            }
            state = parse(record, expectedId, naiveZone, originalNumbers);
        } else {
            throw corrupt(expectedId, Reason.MALFORMED, "not a session record (starts with 0x"
                    + HexFormat.of().formatHex(record, 0, Math.min(4, record.length)) + ")", null);
        }
        if (expectedId != null && !state.sessionId().equals(expectedId)) {
            throw corrupt(expectedId, Reason.WRONG_SESSION, "the record holds session " + state.sessionId()
                    + ": it was copied or moved here", null);
        }
        return state;
    }

    private static CorruptSessionException notEncrypted(String id) {
        return corrupt(id, Reason.NOT_ENCRYPTED, "record is not encrypted, but encryption keys are configured and"
                + " encryption_required is on: it was not written by this store's writers (or predates"
                + " encryption: set encryption_required to false, run 'session-buddy rewrite', then set it back)",
                null);
    }

    /** What an envelope's header says, after its lengths and checksum are verified. */
    @SuppressWarnings("ArrayRecordComponent") // private, read once per decode: never compared or hashed
    private record Header(int headerLength, Compression compression, boolean encrypted, String keyId, byte[] check,
            byte[] nonce, byte[] bound, RawSummary summary, int decodedLength, int payloadLength) {
    }

    /** A version 2 summary as the header holds it: the owner hashes as bytes (hex only when asked). */
    @SuppressWarnings("ArrayRecordComponent") // private; digests are compared with Arrays.equals explicitly
    private record RawSummary(long version, Instant expiresAt, byte[] userHash, byte[] projectHash) {
    }

    /**
     * The summary of a version 2 record: a record's version, expiry and owners, read without
     * decompressing, decrypting or parsing it. The record's length, checksum and (when encrypted)
     * its binding to {@code expectedId} are verified; the GCM tag is not (a full {@link #decode}
     * verifies it, and checks that the summary agrees with the body). Empty for records without a
     * summary (version 1, plain or gzip JSON): decode those.
     *
     * @param record the stored bytes
     * @param scope the namespace it was read from
     * @param expectedId the session id it was stored under
     * @return the summary, or empty for a record without one
     * @throws CorruptSessionException when the record is damaged, of a newer version, or bound to
     *     another session
     */
    public Optional<Summary> summary(byte[] record, String scope, String expectedId) {
        if (!startsWith(record, MAGIC)) {
            if (format.refusesPlaintext()) {
                throw notEncrypted(expectedId);
            }
            return Optional.empty();
        }
        Header header = header(record, expectedId);
        RawSummary raw = header.summary();
        if (raw == null) {
            return Optional.empty();
        }
        if (header.encrypted()) {
            checkBinding(header, scope, expectedId);
        } else if (format.refusesPlaintext()) {
            throw notEncrypted(expectedId);
        }
        return Optional.of(new Summary(raw.version(), raw.expiresAt(), HEX.formatHex(raw.userHash()),
                HEX.formatHex(raw.projectHash())));
    }

    /**
     * The JSON size of a record this codec wrote (from its header, nothing decoded); for an earlier
     * form without one (plain or gzip-compressed JSON), the record's own length.
     *
     * @param record the stored bytes
     * @return the session's JSON length in bytes
     */
    public static int jsonLength(byte[] record) {
        if (!startsWith(record, MAGIC) || record.length < 7) {
            return record.length;
        }
        int version = record[3] & 0xff;
        boolean encrypted = (record[5] & 0xff) == CIPHER_AES_GCM;
        int at = 7 + (record[6] & 0xff) + (encrypted ? 4 + NONCE_BYTES + 4 : 0) + (version >= 2 ? SUMMARY_BYTES : 0);
        if (record.length < at + 4) {
            return record.length;
        }
        return ByteBuffer.wrap(record, at, 4).getInt();
    }

    private Header header(byte[] record, String expectedId) {
        if (record.length < 7) {
            throw corrupt(expectedId, Reason.TRUNCATED, "record of " + record.length
                    + " bytes is cut off inside its header", null);
        }
        int version = record[3] & 0xff;
        if (version > FORMAT_VERSION) {
            throw corrupt(expectedId, Reason.UNSUPPORTED_VERSION, "record is in stored-format version " + version
                    + ", newer than this library reads (" + FORMAT_VERSION + "); upgrade session-buddy", null);
        }
        if (version < 1) {
            throw corrupt(expectedId, Reason.MALFORMED, "record has format version 0, which was never written", null);
        }
        Compression compression = Compression.byId(record[4] & 0xff);
        if (compression == null) {
            throw corrupt(expectedId, Reason.MALFORMED, "record names unknown compression id " + (record[4] & 0xff),
                    null);
        }
        int cipherId = record[5] & 0xff;
        if (cipherId != CIPHER_NONE && cipherId != CIPHER_AES_GCM) {
            throw corrupt(expectedId, Reason.MALFORMED, "record names unknown cipher id " + cipherId, null);
        }
        boolean encrypted = cipherId == CIPHER_AES_GCM;
        int keyIdLength = record[6] & 0xff;
        int headerLength = 7 + keyIdLength + (encrypted ? 4 + NONCE_BYTES + 4 : 0)
                + (version >= 2 ? SUMMARY_BYTES : 0) + 8;
        if (record.length < headerLength) {
            throw corrupt(expectedId, Reason.TRUNCATED, "record of " + record.length
                    + " bytes is cut off inside its " + headerLength + "-byte header", null);
        }
        ByteBuffer in = ByteBuffer.wrap(record, 7 + keyIdLength, headerLength - 7 - keyIdLength);
        String keyId = new String(record, 7, keyIdLength, StandardCharsets.US_ASCII);
        byte[] check = null;
        byte[] nonce = null;
        byte[] bound = null;
        if (encrypted) {
            check = new byte[4];
            nonce = new byte[NONCE_BYTES];
            bound = new byte[4];
            in.get(check).get(nonce).get(bound);
        }
        RawSummary summary = null;
        boolean badExpiry = false;
        if (version >= 2) {
            long recordVersion = in.getLong();
            long seconds = in.getLong();
            int nanos = in.getInt();
            byte[] user = new byte[32];
            byte[] project = new byte[32];
            in.get(user).get(project);
            Instant expires = null;
            // judged after the checksum below: damage is CHECKSUM_MISMATCH, not this
            badExpiry = nanos < -1 || nanos > 999_999_999;
            if (!badExpiry && nanos != -1) {
                try {
                    expires = Instant.ofEpochSecond(seconds, nanos);
                } catch (java.time.DateTimeException e) {
                    badExpiry = true;
                }
            }
            summary = new RawSummary(recordVersion, expires, user, project);
        }
        int decodedLength = in.getInt();
        int payloadLength = in.getInt();
        long expectedLength = (long) headerLength + payloadLength + 4;
        if (payloadLength < 0 || record.length < expectedLength) {
            throw corrupt(expectedId, Reason.TRUNCATED, "record is " + record.length + " bytes but its header says "
                    + expectedLength + ": it was cut off", null);
        }
        if (record.length > expectedLength) {
            throw corrupt(expectedId, Reason.MALFORMED, "record is " + record.length + " bytes but its header says "
                    + expectedLength, null);
        }
        CRC32C crc = new CRC32C();
        crc.update(record, 0, record.length - 4);
        if ((int) crc.getValue() != ByteBuffer.wrap(record, record.length - 4, 4).getInt()) {
            throw corrupt(expectedId, Reason.CHECKSUM_MISMATCH,
                    "checksum mismatch: the record was changed or damaged after it was written", null);
        }
        if (badExpiry) {
            throw corrupt(expectedId, Reason.MALFORMED, "record summary has an invalid expiry", null);
        }
        if (decodedLength < 0 || decodedLength > format.maxDecodedBytes()) {
            throw corrupt(expectedId, Reason.TOO_LARGE, "record decodes to " + decodedLength
                    + " bytes, over max_decoded_bytes (" + format.maxDecodedBytes() + ")", null);
        }
        return new Header(headerLength, compression, encrypted, keyId, check, nonce, bound, summary, decodedLength,
                payloadLength);
    }

    private void checkBinding(Header header, String scope, String expectedId) {
        if (!Arrays.equals(header.bound(), binding(scope, expectedId))) {
            throw corrupt(expectedId, Reason.WRONG_SESSION, "the encrypted record was written for another"
                    + " session id or namespace: it was copied or moved here", null);
        }
    }

    private SessionState decodeEnvelope(byte[] record, String scope, String expectedId, java.time.ZoneId naiveZone,
            boolean originalNumbers) {
        Header header = header(record, expectedId);
        SessionState state = decodeBody(record, header, scope, expectedId, naiveZone, originalNumbers);
        RawSummary summary = header.summary();
        if (summary != null && (summary.version() != state.version()
                || !java.util.Objects.equals(summary.expiresAt(), state.expiresAt())
                || !MessageDigest.isEqual(summary.userHash(), sha256(state.userId()))
                || !MessageDigest.isEqual(summary.projectHash(), sha256(state.projectId())))) {
            throw corrupt(expectedId, Reason.MALFORMED, "the record's summary (version, expiry, owners) disagrees"
                    + " with its body", null);
        }
        return state;
    }

    private SessionState decodeBody(byte[] record, Header header, String scope, String expectedId,
            java.time.ZoneId naiveZone, boolean originalNumbers) {
        int headerLength = header.headerLength();
        int payloadLength = header.payloadLength();
        int decodedLength = header.decodedLength();
        Compression compression = header.compression();
        boolean encrypted = header.encrypted();
        String keyId = header.keyId();
        byte[] check = header.check();
        byte[] nonce = header.nonce();
        byte[] payload = record;
        int payloadOffset = headerLength;
        int plainLength = payloadLength;
        if (encrypted) {
            checkBinding(header, scope, expectedId);
            KeyRing ring = format.keyRing();
            if (ring.key(keyId) == null) {
                throw corrupt(expectedId, Reason.UNKNOWN_KEY, "record is encrypted with key '" + keyId + "', which"
                        + " is not in the configured key ring " + ring.keyIds(), null);
            }
            if (!Arrays.equals(check, ring.check(keyId))) {
                throw corrupt(expectedId, Reason.WRONG_KEY, "record is encrypted with another key than the"
                        + " configured key '" + keyId + "'", null);
            }
            try {
                Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
                cipher.init(Cipher.DECRYPT_MODE, ring.key(keyId), new GCMParameterSpec(TAG_BITS, nonce));
                cipher.updateAAD(record, 0, headerLength);
                cipher.updateAAD(associatedData(scope, expectedId));
                payload = cipher.doFinal(record, headerLength, payloadLength);
            } catch (AEADBadTagException e) {
                throw corrupt(expectedId, Reason.AUTHENTICATION_FAILED, "AES-GCM authentication failed: the"
                        + " encrypted record was tampered with", e);
            } catch (GeneralSecurityException e) {
                throw corrupt(expectedId, Reason.MALFORMED, "cannot decrypt: " + e.getMessage(), e);
            }
            payloadOffset = 0;
            plainLength = payload.length;
        }
        byte[] json;
        switch (compression) {
            case NONE -> {
                if (plainLength != decodedLength) {
                    throw corrupt(expectedId, Reason.MALFORMED, "payload is " + plainLength
                            + " bytes but the header says " + decodedLength, null);
                }
                // the caller's bytes unless decrypted here: the state must not keep them
                return parse(payload, payloadOffset, plainLength, expectedId, naiveZone, originalNumbers, encrypted);
            }
            case GZIP -> json = gunzip(payload, payloadOffset, plainLength, decodedLength, expectedId);
            case ZSTD -> {
                if (!compression.isAvailable()) {
                    throw Compression.zstdMissing(expectedId);
                }
                json = Zstd.decompress(payload, payloadOffset, plainLength, decodedLength, expectedId);
            }
            default -> throw new IllegalStateException(compression.toString());
        }
        if (json.length != decodedLength) {
            throw corrupt(expectedId, Reason.MALFORMED, "payload decompresses to " + json.length
                    + " bytes but the header says " + decodedLength, null);
        }
        return parse(json, 0, json.length, expectedId, naiveZone, originalNumbers, true);
    }

    /**
     * A record's JSON parsed into a state, its failure a {@code MALFORMED} one. {@code owned}:
     * {@code null} for JSON that no checksum vouched for (plain-JSON and legacy records), parsed
     * whole; else a verified envelope's JSON, whose conversation is kept unparsed until used (see
     * {@link SessionJsonCodec#fromRecordBytes}), {@code true} when the bytes were made here.
     */
    private static SessionState parse(byte[] json, int offset, int length, String id, java.time.ZoneId naiveZone,
            boolean originalNumbers, Boolean owned) {
        try {
            return owned == null || originalNumbers
                    ? SessionJsonCodec.fromBytes(json, offset, length, naiveZone, originalNumbers)
                    : SessionJsonCodec.fromRecordBytes(json, offset, length, naiveZone, owned);
        } catch (CorruptSessionException e) {
            throw corrupt(id, Reason.MALFORMED, e.getMessage(), e);
        }
    }

    /** Compresses {@code json[0, length)} into {@code into} (not {@link Compression#NONE}). */
    private static void compress(Compression compression, byte[] json, int length, EncodeBuffer into) {
        switch (compression) {
            case ZSTD -> {
                if (!compression.isAvailable()) {
                    throw Compression.zstdMissing(null);
                }
                Zstd.compress(json, length, into);
            }
            case GZIP -> {
                try (GZIPOutputStream gzip = new GZIPOutputStream(into)) {
                    gzip.write(json, 0, length);
                } catch (IOException e) {
                    throw new IllegalStateException("gzip to memory failed", e);
                }
            }
            case NONE -> throw new IllegalArgumentException("nothing to compress with");
        }
    }

    private static byte[] gunzip(byte[] data, int offset, int length, int limit, String id) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(data, offset, length))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(limit, Math.max(256, length * 4)));
            byte[] buffer = new byte[16 * 1024];
            int total = 0;
            for (int n; (n = in.read(buffer)) > 0; ) {
                total += n;
                if (total > limit) {
                    throw corrupt(id, Reason.TOO_LARGE, "gzip payload decompresses to more than " + limit
                            + " bytes", null);
                }
                out.write(buffer, 0, n);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw corrupt(id, Reason.MALFORMED, "not valid gzip data: " + e.getMessage(), e);
        }
    }

    private static SessionState parse(byte[] json, String id, java.time.ZoneId naiveZone, boolean originalNumbers) {
        return parse(json, 0, json.length, id, naiveZone, originalNumbers, null);
    }

    /**
     * The lowercase hex SHA-256 of an owner id's UTF-8 bytes, as {@link Summary} holds it (and as
     * the file backend names its index directories).
     *
     * @param ownerId a user or project id
     * @return 64 lowercase hex characters
     */
    public static String ownerHash(String ownerId) {
        return HEX.formatHex(sha256(ownerId));
    }

    private static byte[] sha256(String text) {
        return Sha256.digest(text.getBytes(StandardCharsets.UTF_8)); // not MessageDigest: see Sha256
    }

    /**
     * The summary a version 2 record carries in its header.
     *
     * @param version the session's version
     * @param expiresAt its {@code expires_at}, or {@code null} for none
     * @param userHash {@link #ownerHash} of its user id
     * @param projectHash {@link #ownerHash} of its project id
     */
    public record Summary(long version, Instant expiresAt, String userHash, String projectHash) {
        /**
         * {@link #ownerHash} of {@link SessionManager#ROTATED_OWNER}: the user hash of the marker a
         * rotation leaves under an old id (computed once).
         */
        public static final String ROTATION_MARKER_USER_HASH = ownerHash(SessionManager.ROTATED_OWNER);

        /**
         * Whether this is the record of a rotation's marker, not of a session.
         *
         * @return {@code true} when its user hash is {@link #ROTATION_MARKER_USER_HASH}
         */
        public boolean isRotationMarker() {
            return ROTATION_MARKER_USER_HASH.equals(userHash);
        }

        /**
         * Whether the session has expired at {@code now} (as {@link SessionState#isExpiredAt}).
         *
         * @param now the time to compare with
         * @return {@code true} when its expiry is at or before {@code now}
         */
        public boolean isExpiredAt(Instant now) {
            return expiresAt != null && !expiresAt.isAfter(now);
        }
    }

    private static byte[] associatedData(String scope, String id) {
        return ((scope == null ? "" : scope) + '\0' + id).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] binding(String scope, String id) {
        return Arrays.copyOf(Sha256.digest(associatedData(scope, id)), 4);
    }

    private static boolean startsWith(byte[] record, byte[] prefix) {
        return record.length >= prefix.length && Arrays.equals(record, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static boolean looksLikeJson(byte[] record) {
        for (byte b : record) {
            if (b == '{') {
                return true;
            }
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return false;
            }
        }
        return false;
    }

    static CorruptSessionException corrupt(String id, Reason reason, String message, Throwable cause) {
        return new CorruptSessionException(null, id, message, reason, cause);
    }
}
