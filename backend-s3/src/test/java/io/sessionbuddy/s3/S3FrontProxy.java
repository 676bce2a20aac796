package io.sessionbuddy.s3;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A loopback HTTP front for S3Proxy that forwards every request unchanged (the {@code Host}
 * header too, so AWS signatures still verify) and:
 * <ul>
 *   <li>runs mutating requests (PUT, POST, DELETE) one at a time, which makes S3Proxy's
 *       conditional writes atomic as AWS S3's are (S3Proxy 4.1.1 checks {@code If-Match} and then
 *       writes without a lock: 8 racing writers lost updates against it);</li>
 *   <li>on request, answers the next N requests with 503 SlowDown, as S3 does under load;</li>
 *   <li>on request, answers 200 where the server answered 412 Precondition Failed, as an endpoint
 *       that ignores {@code If-Match}/{@code If-None-Match} would (the headers themselves are signed
 *       and cannot be dropped).</li>
 * </ul>
 */
final class S3FrontProxy implements AutoCloseable {
    static {
        // Forward the client's Host header, which its signature covers.
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
        // TCP_NODELAY on the front's accepted sockets: without it (the JDK's default up to 21) every
        // small response waited for a delayed ACK, 20-70 ms a request on JDK 17 (JFR jdk.SocketRead),
        // which made the S3 contention tests take 90 s each instead of 5-10 s
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private static final Set<String> NOT_FORWARDED = Set.of("connection", "content-length", "transfer-encoding",
            "expect", "upgrade", "keep-alive");
    private static final Set<String> MUTATING = Set.of("PUT", "POST", "DELETE");

    private final HttpServer server;
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final URI target;
    private final ReentrantLock writes = new ReentrantLock(true);
    private final AtomicInteger slowDowns = new AtomicInteger();
    private final AtomicInteger slowDownsSent = new AtomicInteger();
    private volatile boolean dropConditions;
    private final AtomicInteger failAfterStoring = new AtomicInteger();

    S3FrontProxy(URI target) throws IOException {
        this(target, 0);
    }

    /** A front on {@code port} (0 = any free port). */
    S3FrontProxy(URI target, int port) throws IOException {
        this.target = target;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        server.setExecutor(Executors.newFixedThreadPool(16));
        server.createContext("/", this::handle);
        server.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** The next {@code count} requests get 503 SlowDown. */
    void slowDownNext(int count) {
        slowDowns.set(count);
    }

    /**
     * The next {@code count} PUTs of session objects are stored by the server, but the client gets
     * 500 InternalError instead of the server's answer (a write that landed but looks failed).
     */
    void failAfterStoringNext(int count) {
        failAfterStoring.set(count);
    }

    /** How many 503 answers were sent. */
    int slowDownsSent() {
        return slowDownsSent.get();
    }

    /** Whether to pretend, from now on, that conditional-write headers are ignored. */
    void dropConditions(boolean value) {
        dropConditions = value;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            if (slowDowns.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                slowDownsSent.incrementAndGet();
                byte[] error = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
                        + "<Message>Please reduce your request rate.</Message></Error>").getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/xml");
                exchange.sendResponseHeaders(503, error.length);
                exchange.getResponseBody().write(error);
                return;
            }
            String method = exchange.getRequestMethod().toUpperCase(Locale.ROOT);
            boolean mutating = MUTATING.contains(method);
            if (mutating) {
                writes.lock();
            }
            try {
                forward(exchange, method, body);
            } finally {
                if (mutating) {
                    writes.unlock();
                }
            }
        }
    }

    private void forward(HttpExchange exchange, String method, byte[] body) throws IOException {
        URI uri = target.resolve(exchange.getRequestURI().getRawPath()
                + (exchange.getRequestURI().getRawQuery() != null ? "?" + exchange.getRequestURI().getRawQuery() : ""));
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .method(method, body.length == 0 && (method.equals("GET") || method.equals("HEAD") || method.equals("DELETE"))
                        ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        for (Map.Entry<String, List<String>> header : exchange.getRequestHeaders().entrySet()) {
            String name = header.getKey().toLowerCase(Locale.ROOT);
            if (NOT_FORWARDED.contains(name)) {
                continue;
            }
            for (String value : header.getValue()) {
                request.header(header.getKey(), value);
            }
        }
        HttpResponse<byte[]> response;
        try {
            response = client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        response.headers().map().forEach((name, values) -> {
            if (!NOT_FORWARDED.contains(name.toLowerCase(Locale.ROOT)) && !name.startsWith(":")) {
                values.forEach(value -> exchange.getResponseHeaders().add(name, value));
            }
        });
        byte[] payload = response.body();
        if (method.equals("PUT") && uri.getRawPath().contains("/sessions/") && response.statusCode() == 200
                && failAfterStoring.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            byte[] error = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code>"
                    + "<Message>We encountered an internal error.</Message></Error>").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().clear();
            exchange.getResponseHeaders().add("Content-Type", "application/xml");
            exchange.sendResponseHeaders(500, error.length);
            exchange.getResponseBody().write(error);
            return;
        }
        if (dropConditions && response.statusCode() == 412) {
            exchange.sendResponseHeaders(200, -1);
        } else if (method.equals("HEAD") || payload.length == 0) {
            exchange.sendResponseHeaders(response.statusCode(), -1);
        } else {
            exchange.sendResponseHeaders(response.statusCode(), payload.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(payload);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
