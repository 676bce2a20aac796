package io.sessionbuddy.spi;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.format.StoredFormat;
import java.math.BigDecimal;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A typed, read-only view of one backend's configuration block, plus what every backend needs
 * from the global configuration (default TTL, clock).
 *
 * <p>Values may be JSON values or strings (environment overrides are strings): {@code "6379"}
 * reads as an int. Every error names the full key ({@code backends.redis.port}) and the source;
 * values of keys that look secret are never echoed. Keys that are read are remembered so that
 * {@link #unreadKeys()} can report typos.
 */
public final class BackendSettings {

    private final String backendName;
    private final Map<String, Object> values;
    private final String source;
    private final Duration defaultTtl;
    private final Clock clock;
    private final StoredFormat storedFormat;
    private final Set<String> read = ConcurrentHashMap.newKeySet();

    /**
     * @param backendName the provider name
     * @param values the backend's block
     * @param source where it came from, for error messages
     * @param defaultTtl the configured default time to live
     * @param clock the clock backends use for expiry
     */
    public BackendSettings(String backendName, Map<String, ?> values, String source, Duration defaultTtl,
            Clock clock) {
        this(backendName, values, source, defaultTtl, clock, StoredFormat.defaults());
    }

    /**
     * @param backendName the provider name
     * @param values the backend's block
     * @param source where it came from, for error messages
     * @param defaultTtl the configured default time to live
     * @param clock the clock backends use for expiry
     * @param storedFormat the configured stored format (compression, encryption, size limits)
     */
    public BackendSettings(String backendName, Map<String, ?> values, String source, Duration defaultTtl,
            Clock clock, StoredFormat storedFormat) {
        this.storedFormat = Objects.requireNonNull(storedFormat, "storedFormat");
        this.backendName = Objects.requireNonNull(backendName, "backendName");
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.source = Objects.requireNonNull(source, "source");
        this.defaultTtl = Objects.requireNonNull(defaultTtl, "defaultTtl");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Settings of the selected backend of {@code config}.
     *
     * @param config the loaded configuration
     * @param clock the clock the storage computes expiry with
     * @return the settings of {@code config}'s selected backend block
     */
    public static BackendSettings of(SessionBuddyConfig config, Clock clock) {
        return new BackendSettings(config.storageBackend(), config.selectedBackendSettings(), config.source(),
                config.defaultTtl(), clock, config.storedFormat());
    }

    /**
     * Settings from a plain map, with the default TTL and the system clock (handy in tests).
     *
     * @param backendName the provider name, used in error messages
     * @param values the block's keys and values (JSON-shaped: strings, numbers, booleans, lists)
     * @return the settings
     */
    public static BackendSettings of(String backendName, Map<String, ?> values) {
        return new BackendSettings(backendName, values, "<map>", SessionBuddyConfig.DEFAULT_TTL, Clock.systemUTC());
    }

    /**
     * The stored format every backend applies (from the top-level config keys).
     *
     * @return compression, encryption keys and size limits
     */
    public StoredFormat storedFormat() {
        return storedFormat;
    }

    /**
     * The provider name.
     *
     * @return e.g. {@code redis}
     */
    public String backendName() {
        return backendName;
    }

    /**
     * Where the settings came from.
     *
     * @return a file path, {@code <defaults>} or {@code <map>}
     */
    public String source() {
        return source;
    }

    /**
     * The configured default time to live of sessions.
     *
     * @return the default TTL
     */
    public Duration defaultTtl() {
        return defaultTtl;
    }

    /**
     * The clock to compute expiry with.
     *
     * @return the clock
     */
    public Clock clock() {
        return clock;
    }

    /**
     * Whether the block has {@code key} (marks it read).
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @return {@code true} when present with a non-null value
     */
    public boolean has(String key) {
        read.add(key);
        return values.get(key) != null;
    }

    /**
     * A string value, or empty.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @return the value as a string (numbers and booleans as written), empty when absent
     * @throws io.sessionbuddy.core.SessionConfigException naming the full key path and the source when
     *     the value is of the wrong type
     */
    public Optional<String> getString(String key) {
        Object value = raw(key);
        if (value == null) {
            return Optional.empty();
        }
        if (value instanceof Map || value instanceof List) {
            throw error(key, "expected a string, was " + describe(key, value));
        }
        return Optional.of(value.toString());
    }

    /**
     * A string value, or {@code defaultValue}.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @param defaultValue the value when the key is absent
     * @return the value
     * @throws io.sessionbuddy.core.SessionConfigException naming the full key path and the source when
     *     the value is of the wrong type
     */
    public String getString(String key, String defaultValue) {
        return getString(key).orElse(defaultValue);
    }

    /**
     * A required string value.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @return the value, never blank
     * @throws io.sessionbuddy.core.SessionConfigException naming the key when it is absent or blank
     */
    public String requireString(String key) {
        return getString(key).filter(s -> !s.isBlank())
                .orElseThrow(() -> error(key, "is required"));
    }

    /**
     * An int value, or {@code defaultValue}.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @param defaultValue the value when the key is absent
     * @return the value
     * @throws io.sessionbuddy.core.SessionConfigException naming the full key path and the source when
     *     the value is of the wrong type
     */
    public int getInt(String key, int defaultValue) {
        long value = getLong(key, defaultValue);
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw error(key, "is out of range for an int: " + value);
        }
        return (int) value;
    }

    /**
     * A long value, or {@code defaultValue}.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @param defaultValue the value when the key is absent
     * @return the value
     * @throws io.sessionbuddy.core.SessionConfigException naming the full key path and the source when
     *     the value is of the wrong type
     */
    public long getLong(String key, long defaultValue) {
        Object value = raw(key);
        if (value == null) {
            return defaultValue;
        }
        try {
            return new BigDecimal(value.toString().trim()).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw error(key, "expected a whole number, was " + describe(key, value));
        }
    }

    /**
     * A boolean value ({@code true}/{@code false}, any case), or {@code defaultValue}.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @param defaultValue the value when the key is absent
     * @return the value
     * @throws io.sessionbuddy.core.SessionConfigException naming the full key path and the source when
     *     the value is of the wrong type
     */
    public boolean getBoolean(String key, boolean defaultValue) {
        Object value = raw(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Boolean b) {
            return b;
        }
        String text = value.toString().trim().toLowerCase(Locale.ROOT);
        if (text.equals("true") || text.equals("false")) {
            return Boolean.parseBoolean(text);
        }
        throw error(key, "expected true or false, was " + describe(key, value));
    }

    /**
     * A time zone ({@code America/New_York}, {@code UTC}, {@code +02:00}), or {@code defaultValue}.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @param defaultValue the value when the key is absent
     * @return the zone
     * @throws io.sessionbuddy.core.SessionConfigException naming the key when it is not a zone
     */
    public java.time.ZoneId getZoneId(String key, java.time.ZoneId defaultValue) {
        Optional<String> text = getString(key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        try {
            return java.time.ZoneId.of(text.get().trim());
        } catch (java.time.DateTimeException e) {
            throw error(key, "is not a time zone such as America/New_York, UTC or +02:00: \"" + text.get() + "\"");
        }
    }

    /**
     * A duration, or {@code defaultValue}. A number is seconds; a string may be a number with a unit
     * ({@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h}, {@code 1d}) or ISO-8601 ({@code PT5S}).
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @param defaultValue the value when the key is absent
     * @return the duration
     * @throws io.sessionbuddy.core.SessionConfigException naming the key when it is not a duration
     */
    public Duration getDuration(String key, Duration defaultValue) {
        Object value = raw(key);
        if (value == null) {
            return defaultValue;
        }
        String text = value.toString().trim();
        try {
            if (text.toUpperCase(Locale.ROOT).startsWith("PT") || text.toUpperCase(Locale.ROOT).startsWith("P")) {
                return withinRange(key, value, nonNegative(key, Duration.parse(text.toUpperCase(Locale.ROOT))));
            }
        } catch (DateTimeParseException | ArithmeticException e) {
            throw error(key, "expected a duration such as 5s, 500ms or PT5S, was " + describe(key, value));
        }
        // <digits>[.<digits>] [whitespace] [ms|s|m|h|d], read by hand (no regular expression engine at start)
        String lower = text.toLowerCase(Locale.ROOT);
        int end = digitsEnd(lower, 0);
        if (end > 0 && end < lower.length() && lower.charAt(end) == '.') {
            int fraction = digitsEnd(lower, end + 1);
            end = fraction > end + 1 ? fraction : -1;
        }
        if (end <= 0) {
            throw error(key, "expected a duration such as 5s, 500ms or PT5S, was " + describe(key, value));
        }
        BigDecimal amount = new BigDecimal(lower.substring(0, end));
        int unitStart = end;
        while (unitStart < lower.length() && " \t\n\u000b\f\r".indexOf(lower.charAt(unitStart)) >= 0) {
            unitStart++;
        }
        long millisPerUnit = switch (lower.substring(unitStart)) {
            case "ms" -> 1L;
            case "", "s" -> 1_000L;
            case "m" -> 60_000L;
            case "h" -> 3_600_000L;
            case "d" -> 86_400_000L;
            default -> throw error(key, "expected a duration such as 5s, 500ms or PT5S, was " + describe(key, value));
        };
        BigDecimal millis = amount.multiply(BigDecimal.valueOf(millisPerUnit));
        if (millis.compareTo(BigDecimal.valueOf(MAX_DURATION.toMillis())) > 0) {
            throw error(key, "is too large (at most 100 years), was " + describe(key, value));
        }
        return Duration.ofMillis(millis.longValue());
    }

    /** The index after the ASCII digits of {@code text} from {@code from}. */
    private static int digitsEnd(String text, int from) {
        int i = from;
        while (i < text.length() && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
            i++;
        }
        return i;
    }

    /** The longest duration a setting may have. */
    private static final Duration MAX_DURATION = Duration.ofDays(36_500);

    private Duration withinRange(String key, Object value, Duration duration) {
        if (duration.compareTo(MAX_DURATION) > 0) {
            throw error(key, "is too large (at most 100 years), was " + describe(key, value));
        }
        return duration;
    }

    /**
     * A path, or {@code defaultValue}. A leading {@code ~/} means the user's home.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @param defaultValue the value when the key is absent
     * @return the path
     * @throws io.sessionbuddy.core.SessionConfigException naming the full key path and the source when
     *     the value is of the wrong type
     */
    public Path getPath(String key, Path defaultValue) {
        Optional<String> text = getString(key);
        if (text.isEmpty()) {
            return defaultValue;
        }
        String value = text.get();
        try {
            if (value.equals("~") || value.startsWith("~/")) {
                return Path.of(System.getProperty("user.home")).resolve(value.substring(Math.min(2, value.length())));
            }
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw error(key, "is not a valid path: " + e.getMessage());
        }
    }

    /**
     * A list of strings: a JSON list, or a comma-separated string. Empty when absent.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @return the items: a list's as they are, a comma-separated string's non-blank parts trimmed
     * @throws io.sessionbuddy.core.SessionConfigException naming the full key path and the source when
     *     the value is of the wrong type
     */
    public List<String> getStringList(String key) {
        Object value = raw(key);
        if (value == null) {
            return List.of();
        }
        List<String> items = new ArrayList<>();
        if (value instanceof List<?> list) {
            for (Object item : list) {
                if (item == null || item instanceof Map || item instanceof List) {
                    throw error(key, "expected a list of strings");
                }
                items.add(item.toString());
            }
        } else {
            for (String part : value.toString().split(",", -1)) { // blank parts are skipped below
                if (!part.isBlank()) {
                    items.add(part.trim());
                }
            }
        }
        return List.copyOf(items);
    }

    /**
     * A nested block of settings ({@code near_cache: {enabled: true, maximum_size: 5000}}), read
     * with the same getters; its errors name the full path ({@code backends.redis.near_cache.enabled}).
     * Its unknown keys are not reported by the enclosing block: check {@link #unreadKeys()} of the
     * section (or use {@link #requireAllRead()}) after reading it.
     *
     * @param key the key of the block in the backend's block
     * @return the block, empty when absent
     * @throws io.sessionbuddy.core.SessionConfigException naming the key when the value is not a block
     */
    public Optional<BackendSettings> section(String key) {
        Object value = raw(key);
        if (value == null) {
            return Optional.empty();
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw error(key, "expected a block of settings, was " + describe(key, value));
        }
        Map<String, Object> block = new LinkedHashMap<>();
        map.forEach((k, v) -> block.put(String.valueOf(k), v));
        return Optional.of(new BackendSettings(backendName + "." + key, block, source, defaultTtl, clock, storedFormat));
    }

    /**
     * Fails when the block has a key no getter has read: for nested blocks ({@link #section}),
     * whose keys the configuration loader does not check.
     *
     * @throws io.sessionbuddy.core.SessionConfigException naming the first unknown key
     */
    public void requireAllRead() {
        Set<String> unread = unreadKeys();
        if (!unread.isEmpty()) {
            throw error(unread.iterator().next(), "unknown key" + (unread.size() > 1 ? " (unknown keys: " + unread + ")"
                    : "") + "; known keys: " + new TreeSet<>(read));
        }
    }

    /**
     * Every key present in the block, read or not.
     *
     * @return the keys
     */
    public Set<String> keys() {
        return java.util.Collections.unmodifiableSet(new TreeSet<>(values.keySet()));
    }

    /**
     * Keys present in the block that no getter has read so far (typos, unsupported keys).
     *
     * @return the unread keys
     */
    public Set<String> unreadKeys() {
        Set<String> unread = new TreeSet<>(values.keySet());
        unread.removeAll(read);
        return unread;
    }

    /**
     * An error about {@code key} that names the full key path and the source.
     *
     * @param key the key in the backend's block, e.g. {@code port}
     * @param message what is wrong with it
     * @return the exception, to throw
     */
    public SessionConfigException error(String key, String message) {
        return new SessionConfigException(source, "backends." + backendName + "." + key, message);
    }

    private Object raw(String key) {
        read.add(key);
        return values.get(key);
    }

    private Duration nonNegative(String key, Duration duration) {
        if (duration.isNegative()) {
            throw error(key, "must not be negative");
        }
        return duration;
    }

    private static String describe(String key, Object value) {
        if (io.sessionbuddy.core.Secrets.isSecretKey(key)) {
            return "(a value that is not shown because the key looks secret)";
        }
        if (value instanceof Map) {
            return "an object";
        }
        if (value instanceof List) {
            return "a list";
        }
        return value instanceof String text ? "\"" + io.sessionbuddy.core.Secrets.maskUris(text) + "\""
                : String.valueOf(value);
    }
}
