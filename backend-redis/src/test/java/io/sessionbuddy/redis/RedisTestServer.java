package io.sessionbuddy.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import redis.embedded.core.ExecutableProvider;

/**
 * A real {@code redis-server} on a free loopback port, started and stopped by the tests. The binary
 * comes from the {@code embedded-redis} test dependency (Maven Central), so nothing needs to be
 * installed. If it cannot start, tests fail with a message that says so; they do not skip.
 */
public final class RedisTestServer implements AutoCloseable {
    private static File binary;

    private final int port;
    private final Path dir;
    private final List<String> extraArgs;
    private Process process;
    /** 'plain', 'tls' (the port speaks TLS only) or 'sentinel' (first argument is the config file). */
    private String mode = "plain";

    private RedisTestServer(int port, Path dir, List<String> extraArgs) {
        this.port = port;
        this.dir = dir;
        this.extraArgs = extraArgs;
    }

    /**
     * A server that speaks TLS only, on {@link #port()}, with the given PEM files; clients need not
     * present a certificate.
     */
    public static RedisTestServer startTls(Path cert, Path key, Path ca, String... extraArgs) {
        try {
            Path dir = Files.createTempDirectory("redis-tls-test-");
            int port = freePort();
            List<String> args = new ArrayList<>(List.of("--tls-port", Integer.toString(port), "--tls-cert-file",
                    cert.toString(), "--tls-key-file", key.toString(), "--tls-ca-cert-file", ca.toString(),
                    "--tls-auth-clients", "no"));
            args.addAll(List.of(extraArgs));
            RedisTestServer server = new RedisTestServer(port, dir, args);
            server.mode = "tls";
            server.startProcess();
            return server;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A Sentinel monitoring {@code masterPort} as {@code mymaster} (quorum 1, down after 1 s). */
    public static RedisTestServer startSentinel(int masterPort) {
        try {
            Path dir = Files.createTempDirectory("redis-sentinel-test-");
            int port = freePort();
            Files.writeString(dir.resolve("sentinel.conf"), String.join("\n",
                    "port " + port,
                    "bind 127.0.0.1",
                    "dir " + dir,
                    "sentinel monitor mymaster 127.0.0.1 " + masterPort + " 1",
                    "sentinel down-after-milliseconds mymaster 1000",
                    "sentinel failover-timeout mymaster 5000",
                    "sentinel parallel-syncs mymaster 1", ""));
            RedisTestServer server = new RedisTestServer(port, dir, List.of());
            server.mode = "sentinel";
            server.startProcess();
            return server;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Starts a server with extra {@code --option value} arguments. */
    public static RedisTestServer start(String... extraArgs) {
        try {
            Path dir = Files.createTempDirectory("redis-test-");
            RedisTestServer server = new RedisTestServer(freePort(), dir, List.of(extraArgs));
            server.startProcess();
            return server;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public int port() {
        return port;
    }

    public RedisURI uri() {
        return RedisURI.builder().withHost("127.0.0.1").withPort(port).withTimeout(Duration.ofSeconds(5)).build();
    }

    /** Kills the server (as a crash would). */
    void stop() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }

    /** Starts it again on the same port. */
    void restart() {
        startProcess();
    }

    @Override
    public void close() {
        stop();
    }

    /** Runs a sync command session against this server (test set-up only). */
    <T> T withCommands(java.util.function.Function<RedisCommands<String, String>, T> body) {
        RedisClient client = RedisClient.create(uri());
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            return body.apply(connection.sync());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    private void startProcess() {
        List<String> command = new ArrayList<>();
        command.add(executable().getAbsolutePath());
        if (mode.equals("sentinel")) {
            command.addAll(List.of(dir.resolve("sentinel.conf").toString(), "--sentinel"));
        } else {
            command.addAll(List.of("--port", mode.equals("tls") ? "0" : Integer.toString(port), "--bind", "127.0.0.1",
                    "--dir", dir.toString(), "--save", "", "--appendonly", "no", "--protected-mode", "no"));
        }
        command.addAll(extraArgs);
        try {
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis-" + System.nanoTime() + ".log").toFile()).start();
        } catch (IOException e) {
            throw new IllegalStateException("could not start redis-server from " + executable() + ": " + e
                    + " (the binary comes from com.github.codemonstur:embedded-redis; on another OS/arch install"
                    + " redis-server, e.g. `apt-get install redis-server`)", e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server exited at start (code " + process.exitValue()
                        + "); its log is in " + dir);
            }
            if (mode.equals("tls") ? acceptsConnections() : answersPing()) {
                return;
            }
            sleep(20);
        }
        throw new IllegalStateException("redis-server on port " + port + " did not answer PING within 15 s; log in " + dir);
    }

    private boolean acceptsConnections() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private boolean answersPing() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            socket.setSoTimeout(500);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] reply = new byte[64];
            int n = in.read(reply);
            String text = n > 0 ? new String(reply, 0, n, StandardCharsets.US_ASCII) : "";
            return text.startsWith("+PONG") || text.startsWith("-NOAUTH") || text.startsWith("-NOPERM");
        } catch (IOException e) {
            return false;
        }
    }

    private static synchronized File executable() {
        if (binary == null) {
            try {
                binary = ExecutableProvider.newJarResourceProvider().get();
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("could not extract the redis-server binary bundled with"
                        + " com.github.codemonstur:embedded-redis: " + e, e);
            }
        }
        return binary;
    }

    /**
     * The calls per command since the last {@code CONFIG RESETSTAT}, from {@code INFO commandstats}
     * (command name, lower case, without the {@code cmdstat_} prefix).
     */
    static java.util.Map<String, Long> commandCalls(io.lettuce.core.api.sync.RedisCommands<String, String> commands) {
        java.util.Map<String, Long> calls = new java.util.HashMap<>();
        for (String line : commands.info("commandstats").split("\r?\n", -1)) {
            if (line.startsWith("cmdstat_")) {
                String name = line.substring("cmdstat_".length(), line.indexOf(':'));
                String count = line.substring(line.indexOf("calls=") + "calls=".length());
                calls.put(name, Long.parseLong(count.substring(0, count.indexOf(','))));
            }
        }
        return calls;
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
