package io.sessionbuddy.s3;

import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.StorageProvider;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * The {@code s3} backend's provider. Settings: {@code bucket} (or the original's
 * {@code bucket_name}), {@code prefix} (or {@code key_prefix}), {@code region}, {@code endpoint},
 * {@code path_style}, {@code access_key}/{@code secret_key} (or the original's
 * {@code access_key_id}/{@code secret_access_key}; default: the AWS provider chain),
 * {@code namespace}, {@code timeout}, {@code max_attempts}, {@code conditional_writes},
 * {@code check_conditional_writes}.
 */
public final class S3StorageProvider implements StorageProvider {
    /** The provider name. */
    public static final String NAME = "s3";

    /** Used by {@link java.util.ServiceLoader}. */
    public S3StorageProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SessionStorage create(BackendSettings settings) {
        String bucket = settings.requireString("bucket");
        String prefix = prefix(settings);
        String namespace = settings.getString("namespace", S3SessionStorage.DEFAULT_NAMESPACE);
        boolean conditional = settings.getBoolean("conditional_writes", true);
        Boolean check = settings.has("check_conditional_writes")
                ? settings.getBoolean("check_conditional_writes", true) : null; // null: only for a custom endpoint
        if (!S3SessionStorage.isValidNamespace(namespace)) {
            throw settings.error("namespace", "must match [A-Za-z0-9._-]{1,64}, was \"" + namespace + "\"");
        }
        S3Client client = client(settings);
        return S3SessionStorage.builder(client, bucket)
                .ownsClient(true)
                .clientFactory(() -> client(settings))
                .prefix(prefix)
                .namespace(namespace)
                .conditionalWrites(conditional)
                .checkConditionalWrites(check)
                .defaultTtl(settings.defaultTtl())
                .clock(settings.clock())
                .storedFormat(settings.storedFormat())
                .build();
    }

    /** The SDK client the settings describe (region, endpoint, path style, credentials, timeouts, retries). */
    static S3Client client(BackendSettings settings) {
        Duration timeout = settings.getDuration("timeout", Duration.ofSeconds(10));
        int attempts = settings.getInt("max_attempts", 4);
        if (attempts < 1 || attempts > 20) {
            throw settings.error("max_attempts", "must be from 1 to 20, was " + attempts);
        }
        S3ClientBuilder client = S3Client.builder()
                .region(Region.of(settings.getString("region", "us-east-1")))
                .forcePathStyle(settings.getBoolean("path_style", false))
                .credentialsProvider(credentials(settings))
                .httpClientBuilder(Apache5HttpClient.builder().connectionTimeout(timeout).socketTimeout(timeout))
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .apiCallTimeout(timeout.multipliedBy(attempts))
                        .apiCallAttemptTimeout(timeout)
                        .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder().maxAttempts(attempts).build())
                        .build());
        Optional<String> endpoint = settings.getString("endpoint");
        if (endpoint.isPresent()) {
            try {
                URI uri = new URI(endpoint.get());
                if (uri.getScheme() == null || uri.getHost() == null) {
                    throw new URISyntaxException(endpoint.get(), "needs a scheme and a host");
                }
                client.endpointOverride(uri);
            } catch (URISyntaxException e) {
                throw settings.error("endpoint", "is not a URL such as http://127.0.0.1:9000: " + e.getMessage());
            }
        }
        return client.build();
    }

    private static String prefix(BackendSettings settings) {
        Optional<String> prefix = settings.getString("prefix");
        Optional<String> keyPrefix = settings.getString("key_prefix");
        if (prefix.isPresent() && keyPrefix.isPresent()) {
            throw settings.error("key_prefix", "give either prefix or key_prefix, not both");
        }
        String value = prefix.or(() -> keyPrefix).orElse(S3SessionStorage.DEFAULT_PREFIX);
        if (value.contains("..") || value.contains("//")) {
            throw settings.error(prefix.isPresent() ? "prefix" : "key_prefix", "must not contain '..' or '//'");
        }
        return value;
    }

    private static AwsCredentialsProvider credentials(BackendSettings settings) {
        Optional<String> accessKey = settings.getString("access_key");
        Optional<String> secretKey = settings.getString("secret_key");
        if (accessKey.isPresent() != secretKey.isPresent()) {
            throw settings.error(accessKey.isPresent() ? "secret_key" : "access_key",
                    "access_key and secret_key go together");
        }
        if (accessKey.isPresent()) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey.get(), secretKey.get()));
        }
        return DefaultCredentialsProvider.builder().build();
    }
}
