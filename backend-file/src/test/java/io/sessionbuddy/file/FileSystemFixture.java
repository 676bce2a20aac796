package io.sessionbuddy.file;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real file-system failure conditions for tests. As root (where permission bits do not bind): a
 * tiny tmpfs mount, a read-only remount, and the immutable attribute. As another user: a directory
 * whose write permission is removed. Fails, never skips, when the condition cannot be made.
 */
final class FileSystemFixture implements AutoCloseable {
    private static final boolean ROOT = isRoot();

    private final Path path;
    private final List<List<String>> undo = new ArrayList<>();

    private FileSystemFixture(Path path) {
        this.path = path;
    }

    /** A file system of {@code bytes} at {@code mountPoint} (root), else a plain directory. */
    static FileSystemFixture tinyDisk(Path mountPoint, long bytes) throws Exception {
        Files.createDirectories(mountPoint);
        FileSystemFixture fixture = new FileSystemFixture(mountPoint);
        if (ROOT) {
            run("mount", "-t", "tmpfs", "-o", "size=" + bytes, "tmpfs", mountPoint.toString());
            fixture.undo.add(List.of("umount", "-l", mountPoint.toString()));
        }
        return fixture;
    }

    /** Denies writes to {@code dir}: the immutable attribute as root, else mode r-x. */
    static FileSystemFixture denyWrites(Path dir) throws Exception {
        FileSystemFixture fixture = new FileSystemFixture(dir);
        if (ROOT) {
            run("chattr", "+i", dir.toString());
            fixture.undo.add(List.of("chattr", "-i", dir.toString()));
        } else {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
            fixture.undo.add(List.of("chmod", "700", dir.toString()));
        }
        return fixture;
    }

    Path path() {
        return path;
    }

    /** Makes {@code dir} (inside a {@link #tinyDisk}) read-only. */
    void makeReadOnly(Path dir) throws Exception {
        if (ROOT) {
            run("mount", "-o", "remount,ro", path.toString());
            undo.add(0, List.of("mount", "-o", "remount,rw", path.toString()));
        } else {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
            undo.add(0, List.of("chmod", "700", dir.toString()));
        }
    }

    /** Whether the real conditions (tmpfs, read-only mount) are available: running as root. */
    static boolean realReadOnlyMount() {
        return ROOT;
    }

    @Override
    public void close() throws Exception {
        for (List<String> command : undo) {
            run(command.toArray(String[]::new));
        }
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException("could not set up the file-system condition: `" + String.join(" ", command)
                    + "` failed: " + output.strip());
        }
    }

    private static boolean isRoot() {
        try {
            Process process = new ProcessBuilder("id", "-u").start();
            String uid = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            process.waitFor();
            return uid.equals("0");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
