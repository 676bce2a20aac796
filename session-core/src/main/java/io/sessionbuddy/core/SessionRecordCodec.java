package io.sessionbuddy.core;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import io.sessionbuddy.core.CorruptSessionException.Reason;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
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
 * 3       1     format version (1)
 * 4       1     compression id (0 none, 1 gzip, 2 zstd)
 * 5       1     cipher id (0 none, 1 AES-256-GCM)
 * 6       1     key id length n (0 when not encrypted)
 * 7       n     key id (ASCII)
 *               when encrypted: key check (4), nonce (12), binding (4)
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
 * <p>Reading accepts every earlier form: plain JSON records (written before the envelope existed)
 * and gzip-compressed JSON (the original Python store's records). A record of a newer format
 * version fails with {@link Reason#UNSUPPORTED_VERSION}. Decompression is bounded by
 * {@link StoredFormat#maxDecodedBytes()}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class SessionRecordCodec {
    /** The format version this library writes, and the newest it reads. */
    public static final int FORMAT_VERSION = 1;

    private static final byte[] MAGIC = {'S', 'B', 'F'};
    private static final int CIPHER_NONE = 0;
    private static final int CIPHER_AES_GCM = 1;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final int TAG_BYTES = TAG_BITS / 8;
    private static final int ZSTD_LEVEL = 3;
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * Native zstd contexts are costly to create (tens of microseconds, more than compressing a
     * 1 KiB session): a few are kept for reuse, one per concurrent caller, closed beyond that.
     */
    private static final int POOLED_CONTEXTS = 32;
    private static final BlockingQueue<ZstdCompressCtx> COMPRESSORS = new ArrayBlockingQueue<>(POOLED_CONTEXTS);
    private static final BlockingQueue<ZstdDecompressCtx> DECOMPRESSORS = new ArrayBlockingQueue<>(POOLED_CONTEXTS);

    private final StoredFormat format;

    /** A codec writing {@code format}. */
    public SessionRecordCodec(StoredFormat format) {
        this.format = Objects.requireNonNull(format, "format");
    }

    /** The format this codec writes. */
    public StoredFormat format() {
        return format;
    }

    /**
     * The JSON size of {@code state}, checked against the limit (for stores that keep objects).
     *
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
     * @param scope the namespace the record is written to (bound into encrypted records)
     * @throws SessionTooLargeException when the JSON is over {@link StoredFormat#maxSessionBytes()}
     */
    public byte[] encode(SessionState state, String scope) {
        byte[] json = checkedJson(state);
        Compression compression = format.compression();
        byte[] payload = json;
        if (compression != Compression.NONE && json.length >= format.compressionThresholdBytes()) {
            byte[] packed = compress(compression, json);
            if (packed.length < json.length) {
                payload = packed;
            } else {
                compression = Compression.NONE;
            }
        } else {
            compression = Compression.NONE;
        }
        KeyRing ring = format.keyRing();
        boolean encrypt = !ring.isEmpty();
        byte[] keyId = encrypt ? ring.activeKeyId().getBytes(StandardCharsets.US_ASCII) : new byte[0];
        int payloadLength = encrypt ? payload.length + TAG_BYTES : payload.length;
        int headerLength = 7 + keyId.length + (encrypt ? 4 + NONCE_BYTES + 4 : 0) + 8;
        ByteBuffer out = ByteBuffer.allocate(headerLength + payloadLength + 4);
        out.put(MAGIC).put((byte) FORMAT_VERSION).put((byte) compression.id())
                .put((byte) (encrypt ? CIPHER_AES_GCM : CIPHER_NONE)).put((byte) keyId.length).put(keyId);
        byte[] nonce = null;
        if (encrypt) {
            nonce = new byte[NONCE_BYTES];
            RANDOM.nextBytes(nonce);
            out.put(ring.check(ring.activeKeyId())).put(nonce).put(binding(scope, state.sessionId()));
        }
        out.putInt(json.length).putInt(payloadLength);
        if (encrypt) {
            try {
                Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
                cipher.init(Cipher.ENCRYPT_MODE, ring.key(ring.activeKeyId()), new GCMParameterSpec(TAG_BITS, nonce));
                cipher.updateAAD(out.array(), 0, headerLength);
                cipher.updateAAD(associatedData(scope, state.sessionId()));
                int written = cipher.doFinal(payload, 0, payload.length, out.array(), headerLength);
                out.position(headerLength + written);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES-GCM encryption failed: " + e.getMessage(), e);
            }
        } else {
            out.put(payload);
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
     * @throws CorruptSessionException saying why (see {@link CorruptSessionException#reason()})
     */
    public SessionState decode(byte[] record, String scope, String expectedId) {
        SessionState state;
        if (startsWith(record, MAGIC)) {
            if (format.refusesPlaintext() && record.length > 5 && record[5] == CIPHER_NONE) {
                throw notEncrypted(expectedId);
            }
            state = decodeEnvelope(record, scope, expectedId);
        } else if (format.refusesPlaintext()) {
            throw notEncrypted(expectedId);
        } else if (record.length >= 2 && (record[0] & 0xff) == 0x1f && (record[1] & 0xff) == 0x8b) {
            state = parse(gunzip(record, 0, record.length, format.maxDecodedBytes(), expectedId), expectedId);
        } else if (looksLikeJson(record)) {
            if (record.length > format.maxDecodedBytes()) {
                throw corrupt(expectedId, Reason.TOO_LARGE, "plain JSON record of " + record.length
                        + " bytes is over max_decoded_bytes (" + format.maxDecodedBytes() + ")", null);
            }
            state = parse(record, expectedId);
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

    private SessionState decodeEnvelope(byte[] record, String scope, String expectedId) {
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
        int headerLength = 7 + keyIdLength + (encrypted ? 4 + NONCE_BYTES + 4 : 0) + 8;
        if (record.length < headerLength) {
            throw corrupt(expectedId, Reason.TRUNCATED, "record of " + record.length
                    + " bytes is cut off inside its " + headerLength + "-byte header", null);
        }
        ByteBuffer in = ByteBuffer.wrap(record, 7 + keyIdLength, headerLength - 7 - keyIdLength);
        String keyId = new String(record, 7, keyIdLength, StandardCharsets.US_ASCII);
        byte[] check = new byte[4];
        byte[] nonce = new byte[NONCE_BYTES];
        byte[] bound = new byte[4];
        if (encrypted) {
            in.get(check).get(nonce).get(bound);
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
        if (decodedLength < 0 || decodedLength > format.maxDecodedBytes()) {
            throw corrupt(expectedId, Reason.TOO_LARGE, "record decodes to " + decodedLength
                    + " bytes, over max_decoded_bytes (" + format.maxDecodedBytes() + ")", null);
        }
        byte[] payload = record;
        int payloadOffset = headerLength;
        int plainLength = payloadLength;
        if (encrypted) {
            if (!Arrays.equals(bound, binding(scope, expectedId))) {
                throw corrupt(expectedId, Reason.WRONG_SESSION, "the encrypted record was written for another"
                        + " session id or namespace: it was copied or moved here", null);
            }
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
                return parse(payload, payloadOffset, plainLength, expectedId);
            }
            case GZIP -> json = gunzip(payload, payloadOffset, plainLength, decodedLength, expectedId);
            case ZSTD -> json = unzstd(payload, payloadOffset, plainLength, decodedLength, expectedId);
            default -> throw new IllegalStateException(compression.toString());
        }
        if (json.length != decodedLength) {
            throw corrupt(expectedId, Reason.MALFORMED, "payload decompresses to " + json.length
                    + " bytes but the header says " + decodedLength, null);
        }
        return parse(json, 0, json.length, expectedId);
    }

    private byte[] checkedJson(SessionState state) {
        byte[] json = SessionJsonCodec.toBytes(state);
        if (json.length > format.maxSessionBytes()) {
            throw new SessionTooLargeException(null, state.sessionId(), json.length, format.maxSessionBytes());
        }
        return json;
    }

    private static byte[] compress(Compression compression, byte[] json) {
        return switch (compression) {
            case ZSTD -> {
                ZstdCompressCtx context = COMPRESSORS.poll();
                if (context == null) {
                    context = new ZstdCompressCtx().setLevel(ZSTD_LEVEL).setContentSize(true);
                }
                try {
                    yield context.compress(json);
                } finally {
                    if (!COMPRESSORS.offer(context)) {
                        context.close();
                    }
                }
            }
            case GZIP -> {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream(json.length / 4 + 64);
                try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
                    gzip.write(json);
                } catch (IOException e) {
                    throw new IllegalStateException("gzip to memory failed", e);
                }
                yield bytes.toByteArray();
            }
            case NONE -> json;
        };
    }

    /**
     * Up to this many times the payload (plus 64 KiB), a record's declared size is allocated at once;
     * beyond it the payload is decompressed into a growing buffer, so that a small forged record that
     * claims a huge body costs what it really decompresses to, not what it claims.
     */
    private static final int TRUSTED_RATIO = 64;

    private static byte[] unzstd(byte[] data, int offset, int length, int decodedLength, String id) {
        if (decodedLength > (long) length * TRUSTED_RATIO + 64 * 1024) {
            return unzstdGrowing(data, offset, length, decodedLength, id);
        }
        ZstdDecompressCtx context = DECOMPRESSORS.poll();
        if (context == null) {
            context = new ZstdDecompressCtx();
        }
        try {
            byte[] out = new byte[decodedLength];
            int size = context.decompressByteArray(out, 0, decodedLength, data, offset, length);
            return size == decodedLength ? out : Arrays.copyOf(out, size);
        } catch (RuntimeException e) {
            // a fresh context after a failure: the failed one may hold state of the bad frame
            context.close();
            context = null;
            throw corrupt(id, Reason.MALFORMED, "not valid zstd data of at most " + decodedLength + " bytes: "
                    + e.getMessage(), e);
        } finally {
            if (context != null && !DECOMPRESSORS.offer(context)) {
                context.close();
            }
        }
    }

    private static byte[] unzstdGrowing(byte[] data, int offset, int length, int decodedLength, String id) {
        try (InputStream in = new com.github.luben.zstd.ZstdInputStreamNoFinalizer(
                new ByteArrayInputStream(data, offset, length))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(256, length * 4));
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            for (int n; (n = in.read(buffer)) > 0; ) {
                total += n;
                if (total > decodedLength) {
                    throw corrupt(id, Reason.MALFORMED, "zstd payload decompresses to more than the "
                            + decodedLength + " bytes its header says", null);
                }
                out.write(buffer, 0, n);
            }
            return out.toByteArray();
        } catch (IOException | RuntimeException e) {
            if (e instanceof CorruptSessionException corrupt) {
                throw corrupt;
            }
            throw corrupt(id, Reason.MALFORMED, "not valid zstd data of at most " + decodedLength + " bytes: "
                    + e.getMessage(), e);
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

    private static SessionState parse(byte[] json, String id) {
        return parse(json, 0, json.length, id);
    }

    private static SessionState parse(byte[] json, int offset, int length, String id) {
        try {
            return SessionJsonCodec.fromBytes(json, offset, length);
        } catch (CorruptSessionException e) {
            throw corrupt(id, Reason.MALFORMED, e.getMessage(), e);
        }
    }

    private static byte[] associatedData(String scope, String id) {
        return ((scope == null ? "" : scope) + '\0' + id).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] binding(String scope, String id) {
        try {
            return Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(associatedData(scope, id)), 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JDK", e);
        }
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

    private static CorruptSessionException corrupt(String id, Reason reason, String message, Throwable cause) {
        return new CorruptSessionException(null, id, message, reason, cause);
    }
}
