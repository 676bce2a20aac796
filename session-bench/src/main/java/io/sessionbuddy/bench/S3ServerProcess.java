package io.sessionbuddy.bench;

import io.sessionbuddy.s3.S3TestServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * S3Proxy (with its in-memory store, the bucket {@code bench} made) in a JVM of its own, as an S3
 * server is a process of its own: the benchmark JVM's CPU profile and allocation per operation
 * ({@code -prof gc}) then count the client only, not the server too. The child runs
 * {@link #main} on this JVM's class path and stops when its standard input closes (this JVM
 * exited or called {@link #close()}).
 */
final class S3ServerProcess implements AutoCloseable {
    private static final String READY = "s3-endpoint ";

    private final Process process;
    private final URI endpoint;

    private S3ServerProcess(Process process, URI endpoint) {
        this.process = process;
        this.endpoint = endpoint;
    }

    /** Starts the child and waits (up to 60 s) until it serves. */
    static S3ServerProcess start() {
        Path log;
        try {
            log = Files.createTempFile("bench-s3proxy", ".log");
        } catch (IOException e) {
            throw new IllegalStateException("cannot make the S3 server's log file", e);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(List.of(java, "-Xmx512m", "-cp",
                System.getProperty("java.class.path"), S3ServerProcess.class.getName()))
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the S3 server's JVM (" + java + ")", e);
        }
        // read on a thread of its own, so that a child that never reports is given up after 60 s; the
        // thread then drains the child's output until it exits, so the child never blocks on a full pipe
        CompletableFuture<URI> ready = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    if (!ready.isDone() && line.startsWith(READY)) {
                        ready.complete(URI.create(line.substring(READY.length()).trim()));
                    }
                }
                ready.completeExceptionally(new IllegalStateException("the S3 server's JVM exited"));
            } catch (IOException | RuntimeException e) {
                ready.completeExceptionally(e);
            }
        }, "bench-s3-server-output");
        reader.setDaemon(true);
        reader.start();
        try {
            return new S3ServerProcess(process, ready.get(60, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the S3 server's JVM started", e);
        } catch (ExecutionException | TimeoutException e) {
            process.destroyForcibly();
            String output;
            try {
                output = Files.readString(log, StandardCharsets.UTF_8);
            } catch (IOException unreadable) {
                output = "(unreadable: " + unreadable + ")";
            }
            throw new IllegalStateException("the S3 server's JVM did not report its endpoint within 60 s ("
                    + e.getCause() + "); its log " + log + ":\n" + output, e);
        }
    }

    /** The server's endpoint (S3Proxy directly, path-style, the test server's credentials). */
    URI endpoint() {
        return endpoint;
    }

    /** Closes the child's standard input, which stops it; forcibly after 10 s. */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The child: starts S3Proxy, makes the bucket, prints its endpoint and serves until its standard
     * input closes.
     *
     * @param args ignored
     * @throws IOException when reading standard input fails
     */
    public static void main(String[] args) throws IOException {
        S3TestServer server = S3TestServer.start();
        server.createBucket("bench");
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.println(READY + server.directEndpoint());
        InputStream in = System.in;
        while (in.read() >= 0) {
            // serving until the parent closes the pipe (or exits)
        }
        server.close();
        System.exit(0);
    }
}
