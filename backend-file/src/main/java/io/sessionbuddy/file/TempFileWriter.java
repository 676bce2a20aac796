package io.sessionbuddy.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;

/**
 * Writes and fsyncs a new temp file, and fsyncs directories. A seam: tests replace it with one that fails part-way, as a
 * full disk does, to check that the previous version of a session survives.
 */
@FunctionalInterface
interface TempFileWriter {
    /** The real writer: create-new, write everything, {@code fsync}. */
    TempFileWriter DEFAULT = (path, bytes, attributes) -> {
        try (FileChannel channel = FileChannel.open(path, java.util.Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), attributes)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
    };

    /** Creates {@code path} (which must not exist), writes {@code bytes} and forces them to disk. */
    void write(Path path, byte[] bytes, FileAttribute<?>[] attributes) throws IOException;

    /** Forces a directory's entries (a rename into it) to disk. */
    default void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
