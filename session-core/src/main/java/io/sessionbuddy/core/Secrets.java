package io.sessionbuddy.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Hides secrets in configuration before it is shown ({@link SessionManager#stats()},
 * {@link SessionBuddyConfig#toString()}, CLI output, error messages): the value of every key whose
 * name contains {@code key}, {@code secret}, {@code password}, {@code token} or {@code credential},
 * and the user-info part of every URI ({@code redis://app:pw@host} becomes
 * {@code redis://***@host}), wherever they are nested.
 */
public final class Secrets {
    /** What a hidden value is shown as. */
    public static final String MASK = "***";
    private static final Set<String> SECRET_WORDS = Set.of("key", "secret", "password", "token", "credential");
    private static final Pattern URI_USERINFO = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)[^/@\\s]*@");

    private Secrets() {
    }

    /**
     * Whether a config key names a secret ({@code key}, {@code secret}, {@code password},
     * {@code token} or {@code credential} in it, in any case).
     *
     * @param key a config key
     * @return whether its value is hidden when shown
     */
    public static boolean isSecretKey(String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        return SECRET_WORDS.stream().anyMatch(lower::contains);
    }

    /**
     * A copy of {@code settings} with every secret hidden, nested maps and lists included.
     *
     * @param settings a settings block
     * @return the copy, secrets replaced by a mask
     */
    public static Map<String, Object> mask(Map<String, ?> settings) {
        Map<String, Object> masked = new LinkedHashMap<>();
        settings.forEach((key, value) -> masked.put(key, isSecretKey(key) && value != null ? MASK : maskValue(value)));
        return masked;
    }

    /**
     * {@code text} with the user-info of every URI in it hidden.
     *
     * @param text any text
     * @return the text with URI passwords hidden
     */
    public static String maskUris(String text) {
        return text == null ? null : URI_USERINFO.matcher(text).replaceAll("$1" + MASK + "@");
    }

    @SuppressWarnings("unchecked")
    private static Object maskValue(Object value) {
        if (value instanceof Map<?, ?> map) {
            return mask((Map<String, ?>) map);
        }
        if (value instanceof List<?> list) {
            List<Object> masked = new ArrayList<>(list.size());
            list.forEach(item -> masked.add(maskValue(item)));
            return masked;
        }
        if (value instanceof String text) {
            return maskUris(text);
        }
        return value;
    }
}
