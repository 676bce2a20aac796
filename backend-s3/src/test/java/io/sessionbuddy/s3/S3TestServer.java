package io.sessionbuddy.s3;

import java.net.URI;
import java.time.Duration;
import java.util.Properties;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3-protocol server (S3Proxy with its in-memory blob store) on a free loopback port, in
 * this JVM, behind an {@link S3FrontProxy} that makes its conditional writes atomic and can inject
 * faults. {@link #endpoint()} is the front; {@link #directEndpoint()} is S3Proxy itself.
 */
public final class S3TestServer implements AutoCloseable {
    public static final String ACCESS_KEY = "test-access-key";
    public static final String SECRET_KEY = "test-secret-key-do-not-log";

    private final S3Proxy proxy;
    private final S3FrontProxy front;

    private S3TestServer(S3Proxy proxy) throws java.io.IOException {
        this.proxy = proxy;
        this.front = new S3FrontProxy(directEndpointOf(proxy));
    }

    private static URI directEndpointOf(S3Proxy proxy) {
        return URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    /** S3Proxy itself, without the front (its conditional writes are not atomic). */
    public URI directEndpoint() {
        return directEndpointOf(proxy);
    }

    /** The fault-injecting, write-serialising front. */
    S3FrontProxy front() {
        return front;
    }

    /** A server that checks AWS signatures with {@link #ACCESS_KEY}/{@link #SECRET_KEY}. */
    public static S3TestServer start() {
        return start(AuthenticationType.AWS_V2_OR_V4);
    }

    /** A server with the given authentication ({@code NONE} for tests that sit a proxy in front). */
    static S3TestServer start(AuthenticationType authentication) {
        try {
            Properties properties = new Properties();
            properties.setProperty("jclouds.identity", ACCESS_KEY);
            properties.setProperty("jclouds.credential", SECRET_KEY);
            S3Proxy proxy = S3Proxy.builder()
                    .blobStore(BlobStores.create("transient", properties))
                    .awsAuthentication(authentication, ACCESS_KEY, SECRET_KEY)
                    .endpoint(URI.create("http://127.0.0.1:0"))
                    .build();
            proxy.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!"STARTED".equals(proxy.getState())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("S3Proxy did not start within 30 s (state " + proxy.getState() + ")");
                }
                Thread.sleep(10);
            }
            return new S3TestServer(proxy);
        } catch (Exception e) {
            throw new IllegalStateException("could not start the S3Proxy test server: " + e, e);
        }
    }

    URI endpoint() {
        return front.endpoint();
    }

    /** A client as production builds it (Apache 5 HTTP client, path-style, static keys). */
    S3Client client() {
        return client(endpoint());
    }

    public static S3Client client(URI endpoint) {
        return S3Client.builder()
                .endpointOverride(endpoint)
                .forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                .httpClientBuilder(Apache5HttpClient.builder())
                .build();
    }

    /** Creates a bucket. */
    public void createBucket(String bucket) {
        try (S3Client client = client()) {
            client.createBucket(b -> b.bucket(bucket));
        }
    }

    @Override
    public void close() {
        front.close();
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
