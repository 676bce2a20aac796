package io.sessionbuddy.s3;

import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.spi.ReadOnlySessionStorage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Read-only access to the original Python store's S3 layout, to migrate from it:
 * {@code <key_prefix><id>.json.gz} objects (gzip-compressed JSON, default prefix {@code sessions/})
 * with user metadata {@code user_id} and {@code project_id}; the remaining time to live comes
 * from the object's {@code Expires}.
 *
 * <p>The original kept no index: listing by user or project lists the prefix (every page, not just
 * the first 1,000 keys) and needs each object's metadata, which is read with one {@code HEAD} per
 * object and remembered per ETag, so a second listing only asks about objects that changed. Every
 * write, delete or cleanup fails with a message pointing to {@code session-buddy migrate}.
 */
public final class LegacyS3SessionStorage extends ReadOnlySessionStorage {
    /** The provider name. */
    public static final String NAME = "legacy-s3";
    /** The original's default key prefix. */
    public static final String DEFAULT_KEY_PREFIX = "sessions/";
    private static final String SUFFIX = ".json.gz";
    private static final Logger LOG = LoggerFactory.getLogger(LegacyS3SessionStorage.class);

    private final S3Client s3;
    private final boolean ownsClient;
    private final String bucket;
    private final String prefix;
    private final Map<String, Owner> owners = new ConcurrentHashMap<>();

    private record Owner(String eTag, String userId, String projectId) {
    }

    /**
     * A reader of the original's S3 layout.
     *
     * @param s3 the S3 client
     * @param ownsClient whether {@link #close()} closes {@code s3}
     * @param bucket the original's bucket
     * @param keyPrefix the original's {@code key_prefix}
     * @param defaultTtl the time to live a migration gives a session without an expiry
     * @param clock the clock expiry is computed with
     * @param format the stored format (its size limits bound what is read)
     */
    public LegacyS3SessionStorage(S3Client s3, boolean ownsClient, String bucket, String keyPrefix, Duration defaultTtl,
            Clock clock, StoredFormat format) {
        super(NAME, defaultTtl, clock, format, keyPrefix);
        this.s3 = Objects.requireNonNull(s3, "s3");
        this.ownsClient = ownsClient;
        this.bucket = Objects.requireNonNull(bucket, "bucket");
        this.prefix = Objects.requireNonNull(keyPrefix, "keyPrefix");
        LOG.warn("[{}] reading the original Python store's objects in s3://{}/{}: read-only and deprecated; move its"
                + " sessions with session-buddy migrate", NAME, bucket, keyPrefix);
    }

    private String key(String id) {
        return prefix + id + SUFFIX;
    }

    private <T> CompletableFuture<T> call(String id, String operation, java.util.function.Supplier<T> body) {
        try {
            return CompletableFuture.completedFuture(body.get());
        } catch (S3Exception e) {
            return CompletableFuture.failedFuture(failure(id, "could not " + operation + " in bucket " + bucket
                    + ": HTTP " + e.statusCode() + " " + (e.awsErrorDetails() != null
                    ? e.awsErrorDetails().errorCode() : ""), e));
        } catch (SdkException e) {
            return CompletableFuture.failedFuture(failure(id, "could not " + operation + " in bucket " + bucket + ": "
                    + e.getMessage(), e));
        }
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        return call(sessionId, "read", () -> {
            ResponseBytes<GetObjectResponse> object;
            try {
                object = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key(sessionId)));
            } catch (S3Exception e) {
                if (e.statusCode() == 404) {
                    return Optional.empty();
                }
                throw e;
            }
            SessionState state = decode(sessionId, object.asByteArray(), "object s3://" + bucket + "/" + key(sessionId));
            java.time.Instant expires = expires(object.response().expiresString());
            if (expires != null) {
                state = state.withExpiresAt(expires);
            }
            return Optional.of(state);
        });
    }

    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        if (userId == null && projectId == null) {
            return doListStoredIds();
        }
        return call(null, "list", () -> {
            List<String> live = new ArrayList<>();
            for (S3Object object : objects()) {
                String id = id(object.key());
                if (id == null) {
                    continue;
                }
                Owner owner = owners.get(id);
                if (owner == null || !owner.eTag().equals(object.eTag())) {
                    HeadObjectResponse head;
                    try {
                        head = s3.headObject(b -> b.bucket(bucket).key(object.key()));
                    } catch (S3Exception e) {
                        if (e.statusCode() == 404) {
                            continue;
                        }
                        throw e;
                    }
                    java.time.Instant expires = expires(head.expiresString());
                    if (expires != null && !expires.isAfter(now())) {
                        continue;
                    }
                    owner = new Owner(object.eTag(), head.metadata().getOrDefault("user_id", ""),
                            head.metadata().getOrDefault("project_id", ""));
                    owners.put(id, owner);
                }
                if ((userId == null || owner.userId().equals(userId))
                        && (projectId == null || owner.projectId().equals(projectId))) {
                    live.add(id);
                }
            }
            live.sort(null);
            return live;
        });
    }

    @Override
    protected CompletableFuture<List<String>> doListStoredIds() {
        // every stored id, also one this version does not accept: a migration then names it as failed
        return call(null, "list", () -> objects().stream().map(o -> storedId(o.key())).filter(Objects::nonNull)
                .sorted().toList());
    }

    private List<S3Object> objects() {
        List<S3Object> all = new ArrayList<>();
        s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents().forEach(all::add);
        return all;
    }

    /** The {@code Expires} header (RFC 1123, as the original set it), or {@code null}. */
    static java.time.Instant expires(String header) {
        if (header == null || header.isBlank()) {
            return null;
        }
        try {
            return java.time.ZonedDateTime.parse(header.trim(), java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME)
                    .toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            LOG.warn("[{}] ignoring an Expires header that is not a date: {}", NAME, header);
            return null;
        }
    }

    private String id(String key) {
        String id = storedId(key);
        return id != null && SessionIds.isValid(id) ? id : null;
    }

    private String storedId(String key) {
        if (!key.startsWith(prefix) || !key.endsWith(SUFFIX) || key.length() == prefix.length() + SUFFIX.length()) {
            return null;
        }
        return key.substring(prefix.length(), key.length() - SUFFIX.length());
    }

    @Override
    protected CompletableFuture<Boolean> doPing() {
        return call(null, "reach", () -> {
            s3.headBucket(b -> b.bucket(bucket));
            return true;
        });
    }

    @Override
    protected void doClose() {
        owners.clear();
        if (ownsClient) {
            s3.close();
        }
    }
}
