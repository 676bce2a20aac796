package io.sessionbuddy.core.format;

import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionManager;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The AES-256 keys of encryption at rest: one active key that encrypts every write, and any number
 * of older keys that still decrypt. Each record names the id of the key that encrypted it, so keys
 * can rotate: add a new key, make it active, rewrite the sessions
 * ({@link SessionManager#rewriteAllSessions()} or {@code session-buddy reencrypt}), then drop the
 * old key.
 *
 * <p>Key material never leaves this class: {@link #toString()} shows key ids only.
 */
public final class KeyRing {
    /** Length of an AES-256 key in bytes. */
    public static final int KEY_BYTES = 32;
    /** What a key id may look like, as a regular expression (for messages: {@link SessionIds#isPlainName} checks it). */
    public static final String KEY_ID_RULE = "[A-Za-z0-9._-]{1,64}";

    private static final KeyRing NONE = new KeyRing(null, Map.of());
    private static final byte[] CHECK_LABEL = "session-buddy key check v1".getBytes(StandardCharsets.US_ASCII);

    private final String activeKeyId;
    private final Map<String, SecretKey> keys;
    private final Map<String, byte[]> checks;

    private KeyRing(String activeKeyId, Map<String, SecretKey> keys) {
        this.activeKeyId = activeKeyId;
        this.keys = keys;
        Map<String, byte[]> values = new LinkedHashMap<>();
        keys.forEach((id, key) -> values.put(id, checkValue(key)));
        this.checks = Collections.unmodifiableMap(values);
    }

    /**
     * No encryption.
     *
     * @return an empty key ring
     */
    public static KeyRing none() {
        return NONE;
    }

    /**
     * A key ring.
     *
     * @param activeKeyId the id of the key that encrypts writes; must be one of {@code keys}
     * @param keys raw 32-byte keys by id (copied)
     * @return the key ring
     * @throws IllegalArgumentException for a bad id, a key of the wrong length, or an active id
     *     that is not in {@code keys}; the message never holds key material
     */
    public static KeyRing of(String activeKeyId, Map<String, byte[]> keys) {
        Objects.requireNonNull(activeKeyId, "activeKeyId");
        Map<String, SecretKey> copy = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> entry : keys.entrySet()) {
            String id = entry.getKey();
            if (!SessionIds.isPlainName(id)) {
                throw new IllegalArgumentException("key id '" + id + "' must match " + KEY_ID_RULE);
            }
            byte[] raw = entry.getValue();
            if (raw == null || raw.length != KEY_BYTES) {
                throw new IllegalArgumentException("key '" + id + "' must be " + KEY_BYTES
                        + " bytes (AES-256), was " + (raw == null ? 0 : raw.length));
            }
            copy.put(id, new SecretKeySpec(raw.clone(), "AES"));
        }
        if (!copy.containsKey(activeKeyId)) {
            throw new IllegalArgumentException("the active key '" + activeKeyId + "' is not among the keys "
                    + copy.keySet());
        }
        return new KeyRing(activeKeyId, Collections.unmodifiableMap(copy));
    }

    /**
     * Whether there are no keys (records are not encrypted).
     *
     * @return whether there are no keys (records are not encrypted)
     */
    public boolean isEmpty() {
        return keys.isEmpty();
    }

    /**
     * The id of the key that encrypts writes, or {@code null} when the ring is empty.
     *
     * @return the id of the key that encrypts writes, or {@code null} when the ring is empty
     */
    public String activeKeyId() {
        return activeKeyId;
    }

    /**
     * The ids of every key, active or not.
     *
     * @return the ids of every key, active or not
     */
    public Set<String> keyIds() {
        return keys.keySet();
    }

    SecretKey key(String id) {
        return keys.get(id);
    }

    /** Four bytes derived from the key that tell a wrong key from tampered data. */
    byte[] check(String id) {
        return checks.get(id);
    }

    private static byte[] checkValue(SecretKey key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getEncoded(), "HmacSHA256"));
            return Arrays.copyOf(mac.doFinal(CHECK_LABEL), 4);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        }
    }

    @Override
    public String toString() {
        return isEmpty() ? "KeyRing[none]" : "KeyRing[active=" + activeKeyId + ", keys=" + keys.keySet() + "]";
    }
}
