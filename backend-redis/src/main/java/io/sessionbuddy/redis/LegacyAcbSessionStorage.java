package io.sessionbuddy.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.sessionbuddy.core.CorruptSessionException;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.format.StoredFormat;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Read-only access to the layout of the seed's {@code acb} storage with {@code cache_type: redis}
 * (aiocache with its {@code PickleSerializer}), to migrate from it: key
 * {@code <namespace>:<session_id>} holding {@code pickle.dumps(state.model_dump(mode="json"))},
 * written with {@code SET ... EX}, and one key {@code <namespace>:index} holding a pickled dict
 * {@code {session_id: {"user_id", "project_id", "expires_at"}}}.
 *
 * <p>Pickles are read by {@link RestrictedUnpickler}: only dicts, lists, strings, numbers, booleans and
 * {@code None}; a record that refers to a class or function, or holds anything else, is reported
 * by key as refused (a {@link CorruptSessionException}) and nothing in it is ever instantiated. The
 * JSON a record expands to is bounded by {@code max_decoded_bytes}. Values of the ACB library's later
 * cache serializers (signed pickle, msgpack, brotli) are recognised and reported by key with the
 * format's name.
 *
 * <p>Retrieve reads the record and its remaining time to live ({@code PTTL}), which becomes
 * {@code expires_at}. The stored ids come from a {@code SCAN} of {@code <namespace>:*} (never
 * {@code KEYS}); the index key and {@code <namespace>:health_check} are never taken for sessions.
 * Listing by user or project uses the index to pass over sessions it names for another owner and
 * reads every other record, because the index was updated by racy read-modify-write and can miss
 * sessions. Every write fails with a message pointing to {@code session-buddy migrate}.
 */
public final class LegacyAcbSessionStorage extends LegacyRedisReader {
    /** The provider name. */
    public static final String NAME = "legacy-acb";
    /** The seed's default namespace. */
    public static final String DEFAULT_NAMESPACE = "session";

    private static final Logger LOG = LoggerFactory.getLogger(LegacyAcbSessionStorage.class);

    private final String prefix;
    private final String indexKey;
    private final String healthKey;

    private LegacyAcbSessionStorage(RedisURI uri, RedisClient client, String namespace, Duration defaultTtl,
            Clock clock, StoredFormat format) {
        super(NAME, uri, client, namespace, defaultTtl, clock, format,
                "the seed's ACB (aiocache pickle) layout, namespace \"" + namespace + "\"");
        this.prefix = namespace + ":";
        this.indexKey = prefix + "index";
        this.healthKey = prefix + "health_check";
    }

    /**
     * Opens the layout at {@code uri}.
     *
     * @param uri the Redis server
     * @param client a client to use (not shut down by {@link #close()}), or {@code null} for an own one
     * @param namespace the seed's {@code backends.acb.namespace}, e.g. {@code session}
     * @param defaultTtl the time to live of records without one ({@code null}: the library default)
     * @param clock the clock of expiry checks ({@code null}: UTC system clock)
     * @param format decoding bounds ({@code null}: defaults)
     * @return the storage; {@link #close()} it
     * @throws SessionStorageException when Redis cannot be reached
     */
    public static LegacyAcbSessionStorage open(RedisURI uri, RedisClient client, String namespace,
            Duration defaultTtl, Clock clock, StoredFormat format) {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(namespace, "namespace");
        return new LegacyAcbSessionStorage(uri, client, namespace, defaultTtl, clock, format);
    }

    @Override
    protected CompletableFuture<Optional<SessionState>> doRetrieve(String sessionId) {
        String key = prefix + sessionId;
        if (key.equals(indexKey) || key.equals(healthKey)) {
            return CompletableFuture.completedFuture(Optional.empty()); // the seed's own keys, never a session
        }
        return readWithTtl(key, (bytes, location) -> decode(sessionId, unpickle(sessionId, bytes, location), location));
    }

    private byte[] unpickle(String sessionId, byte[] bytes, String location) {
        Optional<String> later = laterAcbFormat(bytes);
        if (later.isPresent()) {
            throw new CorruptSessionException(NAME, sessionId, "cannot read " + location + " (" + bytes.length
                    + " bytes): " + later.get() + ", written by a later release of the ACB library; this reader"
                    + " reads the seed's plain pickles only", null);
        }
        try {
            return RestrictedUnpickler.toJson(bytes, storedFormat().maxDecodedBytes());
        } catch (RestrictedUnpickler.Refused e) {
            boolean tooLarge = e.getMessage().startsWith("its JSON form is over");
            throw new CorruptSessionException(NAME, sessionId, "refused " + location + " (" + bytes.length
                    + " bytes): " + e.getMessage() + (tooLarge ? " (max_decoded_bytes)" : ""), tooLarge ? CorruptSessionException.Reason.TOO_LARGE
                    : CorruptSessionException.Reason.MALFORMED, null);
        }
    }

    /**
     * Names the format of a value written by a later release of the ACB library's cache (see
     * {@code LEGACY.md}): a signed pickle ({@code payload.signature}, itsdangerous style), msgpack, or
     * bytes that are none of pickle, msgpack or JSON (brotli, which those releases compressed with, has
     * no signature of its own). Empty for a plain pickle, which the seed wrote.
     */
    static Optional<String> laterAcbFormat(byte[] bytes) {
        if (RestrictedUnpickler.looksLikePickle(bytes)) {
            if (bytes[bytes.length - 1] == '.') {
                return Optional.empty();
            }
            int dot = lastIndexOf(bytes, (byte) '.');
            if (dot > 0 && bytes[dot - 1] == '.' && isBase64Url(bytes, dot + 1)) {
                return Optional.of("a signed pickle (pickle '.' signature, itsdangerous style)");
            }
            if (dot > 0 && isBase64Url(bytes, dot + 1) && lastIndexOf(bytes, (byte) '.', dot - 1) > 0) {
                return Optional.of("a signed pickle with a timestamp (itsdangerous TimestampSigner style)");
            }
            return Optional.empty(); // a damaged pickle: the unpickler says where
        }
        int first = bytes.length == 0 ? -1 : bytes[0] & 0xff;
        if ((first >= 0x81 && first <= 0x8f) || first == 0xde || first == 0xdf) {
            return Optional.of("msgpack (a map)");
        }
        if (first == '{' || first == 0x1f) {
            return Optional.empty(); // JSON or gzip: not ACB's; the decoder names it
        }
        return Optional.of("neither a pickle, msgpack nor JSON (starts with 0x"
                + java.util.HexFormat.of().formatHex(bytes, 0, Math.min(4, bytes.length))
                + "): most likely brotli-compressed msgpack or signed pickle");
    }

    private static int lastIndexOf(byte[] bytes, byte value) {
        return lastIndexOf(bytes, value, bytes.length - 1);
    }

    private static int lastIndexOf(byte[] bytes, byte value, int from) {
        for (int i = from; i >= 0; i--) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isBase64Url(byte[] bytes, int from) {
        if (bytes.length - from < 16) {
            return false;
        }
        for (int i = from; i < bytes.length; i++) {
            int c = bytes[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    @Override
    protected CompletableFuture<List<String>> doList(String userId, String projectId) {
        if (userId == null && projectId == null) {
            // every key was written with SET ... EX: a key that is there is live
            return doListStoredIds().thenApply(ids -> ids.stream().filter(SessionIds::isValid).toList());
        }
        return readIndex().thenCompose(index -> doListStoredIds().thenCompose(ids -> {
            List<String> candidates = ids.stream().filter(SessionIds::isValid).filter(id -> {
                Object entry = index.get(id);
                if (!(entry instanceof Map<?, ?> owner)) {
                    return true; // not in the index (it loses entries): read the record
                }
                return (userId == null || userId.equals(owner.get("user_id")))
                        && (projectId == null || projectId.equals(owner.get("project_id")));
            }).toList();
            return listByOwner(candidates, this::doRetrieve, userId, projectId);
        }));
    }

    /** The pickled index, or an empty map when it is missing or cannot be read (logged). */
    private CompletableFuture<Map<?, ?>> readIndex() {
        return commands.get(indexKey).toCompletableFuture().thenApply(bytes -> {
            if (bytes == null) {
                return Map.of();
            }
            try {
                Object index = RestrictedUnpickler.load(bytes);
                if (index instanceof Map<?, ?> map) {
                    return map;
                }
                LOG.warn("[{}] the index {} at {} is not a dict; every record is read", NAME, indexKey, where);
            } catch (RestrictedUnpickler.Refused e) {
                LOG.warn("[{}] cannot read the index {} at {} ({}); every record is read", NAME, indexKey, where,
                        e.getMessage());
            }
            return Map.of();
        });
    }

    @Override
    protected CompletableFuture<List<String>> doListStoredIds() {
        return scanPrefix(prefix).thenApply(keys -> keys.stream().filter(k -> !k.equals(indexKey) && !k.equals(healthKey))
                .map(k -> k.substring(prefix.length())).filter(id -> !id.isEmpty()).sorted()
                .toList()); // invalid ones too: migrate names them
    }
}
