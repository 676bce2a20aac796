package io.sessionbuddy.core.format;

import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A growable byte buffer that an encoder writes a session's JSON (or its compressed form) into,
 * taken from a small pool and given back, so that a write does not allocate and re-copy a buffer
 * that doubles its way up to the session's size (for a 16 KiB session that was about 80 KB per
 * write). The pool keeps two buffers per core (4 to 16), none larger than {@value #KEPT_BYTES}
 * bytes, so it holds at most 4 MiB; larger sessions get a buffer of their own, as before. Not safe
 * for use by two threads at once: a buffer belongs to one encoding from {@link #take()} to
 * {@link #release()}.
 */
final class EncodeBuffer extends OutputStream {
    /** Buffers larger than this are not kept after use (bounds what the pool holds). */
    static final int KEPT_BYTES = 256 * 1024;
    private static final BlockingQueue<EncodeBuffer> POOL = new ArrayBlockingQueue<>(
            Math.min(16, Math.max(4, 2 * Runtime.getRuntime().availableProcessors())));

    private byte[] bytes = new byte[16 * 1024];
    private int count;

    private EncodeBuffer() {
    }

    /** An empty buffer, from the pool when one is free. */
    static EncodeBuffer take() {
        EncodeBuffer buffer = POOL.poll();
        return buffer != null ? buffer : new EncodeBuffer();
    }

    /** Gives the buffer back (emptied); not to be used after this. */
    void release() {
        count = 0;
        if (bytes.length <= KEPT_BYTES) {
            POOL.offer(this);
        }
    }

    /** The array holding the bytes written, from index 0 to {@link #size()}. */
    byte[] array() {
        return bytes;
    }

    /** How many bytes were written. */
    int size() {
        return count;
    }

    /** Makes room for {@code length} bytes more and returns the array; write them at {@link #size()}. */
    byte[] reserve(int length) {
        ensure(length);
        return bytes;
    }

    /** Counts {@code length} bytes written straight into the array after {@link #reserve}. */
    void advance(int length) {
        count += length;
    }

    @Override
    public void write(int b) {
        ensure(1);
        bytes[count++] = (byte) b;
    }

    @Override
    public void write(byte[] source, int offset, int length) {
        ensure(length);
        System.arraycopy(source, offset, bytes, count, length);
        count += length;
    }

    private void ensure(int more) {
        int needed = count + more;
        if (needed < 0) {
            throw new OutOfMemoryError("an encoded session over 2 GiB");
        }
        if (needed > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(needed, (int) Math.min(Integer.MAX_VALUE - 8, 2L * bytes.length)));
        }
    }
}
