package io.sessionbuddy.file;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The per-session locks of one session directory, shared by every {@link FileSessionStorage} on that
 * directory in this JVM: a striped in-process lock, then a one-byte region lock of the directory's
 * lock file for exclusion between processes.
 *
 * <p>Two rules of {@link FileChannel} shape this class. Region locks belong to the whole JVM, so two
 * channels on one file in one JVM would collide ({@code OverlappingFileLockException}): hence one
 * shared instance per directory. And an interrupt of a thread inside {@code lock()} closes the
 * channel, silently releasing every other thread's region lock: hence the channel is only ever
 * touched by this class's own daemon threads, which nothing interrupts. A caller that is
 * interrupted meanwhile waits for its lock anyway and keeps its interrupt status.
 */
final class DirectoryLocks {
    private static final int STRIPES = 256;
    private static final Map<Path, DirectoryLocks> OPEN = new HashMap<>();
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ExecutorService CHANNEL_THREADS = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "session-buddy-file-lock-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        return thread;
    });

    private final Path lockFile;
    private final FileAttribute<?>[] attributes;
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final Object channelGuard = new Object();
    private FileChannel channel;
    private int users;

    private DirectoryLocks(Path lockFile, FileAttribute<?>[] attributes) {
        this.lockFile = lockFile;
        this.attributes = attributes;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    /** The locks of the directory holding {@code lockFile}; give them back with {@link #release()}. */
    static DirectoryLocks acquire(Path lockFile, FileAttribute<?>[] attributes) {
        synchronized (OPEN) {
            DirectoryLocks locks = OPEN.computeIfAbsent(lockFile, file -> new DirectoryLocks(file, attributes));
            locks.users++;
            return locks;
        }
    }

    /** Gives the locks back; the last user closes the lock file. */
    void release() {
        synchronized (OPEN) {
            if (--users > 0) {
                return;
            }
            OPEN.remove(lockFile);
        }
        closeChannel(); // nothing is held once the last user is gone
    }

    /** Closes the lock file's channel if open; the next lock opens a fresh one. */
    private void closeChannel() {
        synchronized (channelGuard) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException e) {
                    // closed or not, a fresh channel is opened on the next write
                }
                channel = null;
            }
        }
    }

    /**
     * Closes the lock file before a checkpoint (CRaC, Lambda SnapStart) once no write holds a lock:
     * every stripe is taken first, so a write in progress finishes, and later writes wait. The next
     * write opens the file again.
     */
    void closeForCheckpoint() {
        for (ReentrantLock stripe : stripes) {
            stripe.lock();
        }
        try {
            closeChannel(); // every stripe is held here: no region lock is held at all now
        } finally {
            for (ReentrantLock stripe : stripes) {
                stripe.unlock();
            }
        }
    }

    /** Whether the lock file is open (for tests). */
    boolean isLockFileOpen() {
        synchronized (channelGuard) {
            return channel != null && channel.isOpen();
        }
    }

    /** Runs {@code action} holding the lock of {@code id}, in this JVM and against other processes. */
    <T> T withLock(String id, FileSessionStorage.IoAction<T> action) throws IOException {
        int stripe = Math.floorMod(id.hashCode(), STRIPES);
        ReentrantLock local = stripes[stripe];
        local.lock();
        try {
            FileLock region = onChannelThread(() -> lockRegion(stripe));
            try {
                return action.run();
            } finally {
                onChannelThread(() -> {
                    region.release();
                    return null;
                });
            }
        } finally {
            local.unlock();
        }
    }

    private FileLock lockRegion(int stripe) throws IOException {
        FileChannel open;
        synchronized (channelGuard) {
            if (channel == null || !channel.isOpen()) {
                // Opened on first write, so that a read-only directory can still be read.
                channel = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.READ), attributes);
            }
            open = channel;
        }
        return open.lock(stripe, 1, false);
    }

    /** Runs {@code call} on a thread that is never interrupted, waiting for it whatever happens. */
    private static <T> T onChannelThread(Callable<T> call) throws IOException {
        Future<T> result = CHANNEL_THREADS.submit(call);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof IOException io) {
                        throw io;
                    }
                    if (cause instanceof RuntimeException runtime) {
                        throw runtime;
                    }
                    if (cause instanceof Error error) {
                        throw error;
                    }
                    throw new UncheckedIOException(new InterruptedIOException(String.valueOf(cause)));
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
