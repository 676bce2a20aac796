package io.sessionbuddy.core.format;

import io.sessionbuddy.core.CorruptSessionException;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import io.sessionbuddy.core.CorruptSessionException.Reason;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Zstandard through zstd-jni, in its own class so that zstd-jni (an optional dependency of
 * session-core: the file, Redis and S3 backends bring it) is loaded only when a record is
 * compressed or decompressed with zstd. Callers check {@link Compression#isAvailable()} first: its
 * absence is then a clear error instead of a {@link NoClassDefFoundError}.
 */
final class Zstd {
    private static final int LEVEL = 3;
    /**
     * Native zstd contexts are costly to create (tens of microseconds, more than compressing a
     * 1 KiB session): a few are kept for reuse, one per concurrent caller, closed beyond that.
     */
    private static final int POOLED_CONTEXTS = 32;
    private static final BlockingQueue<ZstdCompressCtx> COMPRESSORS = new ArrayBlockingQueue<>(POOLED_CONTEXTS);
    private static final BlockingQueue<ZstdDecompressCtx> DECOMPRESSORS = new ArrayBlockingQueue<>(POOLED_CONTEXTS);
    /**
     * Up to this many times the payload (plus 64 KiB), a record's declared size is allocated at once;
     * beyond it the payload is decompressed into a growing buffer, so that a small forged record that
     * claims a huge body costs what it really decompresses to, not what it claims.
     */
    private static final int TRUSTED_RATIO = 64;

    private Zstd() {
    }

    /** Compresses {@code json[0, length)} into {@code into}, straight into its array. */
    static void compress(byte[] json, int length, EncodeBuffer into) {
        ZstdCompressCtx context = COMPRESSORS.poll();
        if (context == null) {
            context = new ZstdCompressCtx().setLevel(LEVEL).setContentSize(true);
        }
        try {
            int bound = Math.toIntExact(com.github.luben.zstd.Zstd.compressBound(length));
            into.advance(context.compressByteArray(into.reserve(bound), into.size(), bound, json, 0, length));
        } finally {
            if (!COMPRESSORS.offer(context)) {
                context.close();
            }
        }
    }

    static byte[] decompress(byte[] data, int offset, int length, int decodedLength, String id) {
        if (decodedLength > (long) length * TRUSTED_RATIO + 64 * 1024) {
            return decompressGrowing(data, offset, length, decodedLength, id);
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
            throw SessionRecordCodec.corrupt(id, Reason.MALFORMED, "not valid zstd data of at most " + decodedLength
                    + " bytes: " + e.getMessage(), e);
        } finally {
            if (context != null && !DECOMPRESSORS.offer(context)) {
                context.close();
            }
        }
    }

    private static byte[] decompressGrowing(byte[] data, int offset, int length, int decodedLength, String id) {
        try (InputStream in = new com.github.luben.zstd.ZstdInputStreamNoFinalizer(
                new ByteArrayInputStream(data, offset, length))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(256, length * 4));
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            for (int n; (n = in.read(buffer)) > 0; ) {
                total += n;
                if (total > decodedLength) {
                    throw SessionRecordCodec.corrupt(id, Reason.MALFORMED, "zstd payload decompresses to more than the "
                            + decodedLength + " bytes its header says", null);
                }
                out.write(buffer, 0, n);
            }
            return out.toByteArray();
        } catch (IOException | RuntimeException e) {
            if (e instanceof CorruptSessionException corrupt) {
                throw corrupt;
            }
            throw SessionRecordCodec.corrupt(id, Reason.MALFORMED, "not valid zstd data of at most " + decodedLength
                    + " bytes: " + e.getMessage(), e);
        }
    }
}
