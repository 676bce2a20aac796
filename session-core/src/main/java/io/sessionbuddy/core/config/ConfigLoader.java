package io.sessionbuddy.core.config;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.format.Compression;
import io.sessionbuddy.core.format.KeyRing;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a {@link SessionBuddyConfig} from a JSON file, a JSON string or a map, then applies
 * environment-variable and system-property overrides.
 *
 * <p>The original Python config file shape is accepted as is: {@code storage_backend},
 * {@code session_ttl_hours}, {@code cleanup_interval_hours} and a {@code backends} object with one
 * block per backend. Legacy backend names ({@code acb} with {@code cache_type}, and {@code local})
 * are mapped with one deprecation warning each. Legacy key names inside backend blocks
 * ({@code storage_dir}, {@code bucket_name}, {@code access_key_id}, {@code secret_access_key}) are
 * mapped to ours.
 *
 * <p>Overrides: {@code SESSION_BUDDY_<KEY>} (e.g. {@code SESSION_BUDDY_STORAGE_BACKEND}) and
 * {@code SESSION_BUDDY_<BACKEND>_<KEY>} (e.g. {@code SESSION_BUDDY_REDIS_HOST}); system properties
 * {@code sessionbuddy.<key>} and {@code sessionbuddy.<backend>.<key>} win over environment variables.
 * {@code SESSION_BUDDY_CONFIG} / {@code sessionbuddy.config} name the file {@link #load()} reads.
 *
 * <p>Errors are {@link SessionConfigException}s naming the key and the source.
 */
public final class ConfigLoader {
    /** Prefix of environment overrides. */
    public static final String ENV_PREFIX = "SESSION_BUDDY_";
    /** Prefix of system-property overrides. */
    public static final String PROPERTY_PREFIX = "sessionbuddy.";
    /** Environment variable naming the config file. */
    public static final String CONFIG_FILE_ENV = "SESSION_BUDDY_CONFIG";
    /** System property naming the config file. */
    public static final String CONFIG_FILE_PROPERTY = "sessionbuddy.config";

    static final String STORAGE_BACKEND = "storage_backend";
    static final String SESSION_TTL_HOURS = "session_ttl_hours";
    static final String DEFAULT_TTL_SECONDS = "default_ttl_seconds";
    static final String CLEANUP_INTERVAL_HOURS = "cleanup_interval_hours";
    static final String MAX_UPDATE_ATTEMPTS = "max_update_attempts";
    static final String OPERATION_TIMEOUT_SECONDS = "operation_timeout_seconds";
    static final String BACKENDS = "backends";
    static final String COMPRESSION = "compression";
    static final String COMPRESSION_THRESHOLD_BYTES = "compression_threshold_bytes";
    static final String MAX_SESSION_BYTES = "max_session_bytes";
    static final String MAX_DECODED_BYTES = "max_decoded_bytes";
    static final String ENCRYPTION_KEYS = "encryption_keys";
    static final String ENCRYPTION_ACTIVE_KEY = "encryption_active_key";
    static final String ENCRYPTION_REQUIRED = "encryption_required";
    static final String STORED_FORMAT_VERSION = "stored_format_version";
    static final String REFRESH_TTL_ON_READ = "refresh_ttl_on_read";
    private static final Set<String> TOP_LEVEL_KEYS = Set.of(REFRESH_TTL_ON_READ, STORAGE_BACKEND, SESSION_TTL_HOURS,
            DEFAULT_TTL_SECONDS, CLEANUP_INTERVAL_HOURS, MAX_UPDATE_ATTEMPTS, OPERATION_TIMEOUT_SECONDS, BACKENDS, COMPRESSION,
            COMPRESSION_THRESHOLD_BYTES, MAX_SESSION_BYTES, MAX_DECODED_BYTES, ENCRYPTION_KEYS,
            ENCRYPTION_ACTIVE_KEY, ENCRYPTION_REQUIRED, STORED_FORMAT_VERSION);
    /** The original's key names inside backend blocks, and ours. */
    private static final Map<String, String> KEY_ALIASES = Map.of(
            "storage_dir", "directory",
            "bucket_name", "bucket",
            "access_key_id", "access_key",
            "secret_access_key", "secret_key");

    private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);

    private final Map<String, String> environment;
    private final Map<String, String> systemProperties;

    /**
     * A loader with explicit override sources (tests pass maps; {@link #system()} passes the real
     * ones).
     *
     * @param environment environment variables ({@code SESSION_BUDDY_*} are read)
     * @param systemProperties system properties ({@code sessionbuddy.*} are read)
     */
    public ConfigLoader(Map<String, String> environment, Map<String, String> systemProperties) {
        this.environment = Map.copyOf(environment);
        this.systemProperties = Map.copyOf(systemProperties);
    }

    /**
     * A loader that reads {@link System#getenv()} and {@link System#getProperties()}.
     *
     * @return A loader that reads {@link System#getenv()} and {@link System#getProperties()}
     */
    public static ConfigLoader system() {
        Map<String, String> properties = new TreeMap<>();
        Properties system = System.getProperties();
        for (String name : system.stringPropertyNames()) {
            if (name.startsWith(PROPERTY_PREFIX)) {
                properties.put(name, system.getProperty(name));
            }
        }
        return new ConfigLoader(System.getenv(), properties);
    }

    /**
     * The file named by {@code sessionbuddy.config} / {@code SESSION_BUDDY_CONFIG} if one is set,
     * else the defaults (memory backend, 24 h TTL); overrides applied either way.
     *
     * @return the configuration
     * @throws io.sessionbuddy.core.SessionConfigException when the file or a value is wrong, naming it
     */
    public SessionBuddyConfig load() {
        String file = systemProperties.getOrDefault(CONFIG_FILE_PROPERTY, environment.get(CONFIG_FILE_ENV));
        if (file != null && !file.isBlank()) {
            return load(Path.of(file));
        }
        return fromMap(Map.of(), "<defaults>");
    }

    /**
     * Reads a JSON config file.
     *
     * @param file the JSON file
     * @return the configuration
     * @throws io.sessionbuddy.core.SessionConfigException when the file or a value is wrong, naming it
     */
    public SessionBuddyConfig load(Path file) {
        String source = file.toString();
        String json;
        try {
            json = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new SessionConfigException(source, null, "config file not found", e);
        } catch (IOException e) {
            throw new SessionConfigException(source, null, "cannot read config file: " + e, e);
        }
        return parse(json, source);
    }

    /**
     * Reads config from JSON text; {@code source} names it in errors.
     *
     * @param json the JSON text
     * @param source what to call it in errors
     * @return the configuration
     * @throws io.sessionbuddy.core.SessionConfigException when a value is wrong, naming it
     */
    public SessionBuddyConfig parse(String json, String source) {
        Map<String, Object> raw;
        try {
            raw = readObject(json);
        } catch (JsonProcessingException e) {
            throw new SessionConfigException(source, null, "not a JSON object: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SessionConfigException(source, null, "not a JSON object: " + e.getMessage(), e);
        }
        if (raw == null) {
            throw new SessionConfigException(source, null, "not a JSON object: the file holds null");
        }
        return fromMap(raw, source);
    }

    /**
     * Reads config from a map of the JSON shape (nested maps for {@code backends}).
     *
     * @param raw the configuration's keys and values
     * @param source what to call it in errors
     * @return the configuration
     * @throws io.sessionbuddy.core.SessionConfigException when a value is wrong, naming it
     */
    public SessionBuddyConfig fromMap(Map<String, ?> raw, String source) {
        Map<String, Object> top = new LinkedHashMap<>(raw);
        Overrides overrides = collectOverrides(source);
        top.putAll(overrides.topLevel);
        for (String key : top.keySet()) {
            if (!TOP_LEVEL_KEYS.contains(key)) {
                throw new SessionConfigException(source, key, "unknown key (known keys: " + new TreeSet<>(TOP_LEVEL_KEYS) + ")");
            }
        }
        Map<String, Map<String, Object>> blocks = backendBlocks(top.get(BACKENDS), source);
        List<String> deprecations = new ArrayList<>();

        String requested = text(top, STORAGE_BACKEND, source, SessionBuddyConfig.DEFAULT_BACKEND);
        String backend = requested;
        Duration legacyTtl = null;
        if (requested.equals("acb")) {
            Map<String, Object> acb = new LinkedHashMap<>(blocks.getOrDefault("acb", Map.of()));
            acb.putAll(overrides.backendBlock("acb"));
            Object cacheType = acb.remove("cache_type");
            backend = cacheType == null ? "memory" : cacheType.toString().trim().toLowerCase(Locale.ROOT);
            if (!backend.equals("memory") && !backend.equals("redis")) {
                throw new SessionConfigException(source, BACKENDS + ".acb.cache_type",
                        "must be \"memory\" or \"redis\", was \"" + cacheType + "\"");
            }
            Object ttlSeconds = acb.remove("ttl_seconds");
            if (ttlSeconds != null) {
                legacyTtl = Duration.ofMillis(positiveMillis(ttlSeconds, 1000, BACKENDS + ".acb.ttl_seconds", source));
            }
            Map<String, Object> merged = new LinkedHashMap<>(blocks.getOrDefault(backend, Map.of()));
            merged.putAll(acb);
            blocks.put(backend, merged);
            deprecations.add("storage_backend \"acb\" is deprecated: write \"storage_backend\": \"" + backend
                    + "\" and move the settings of backends.acb to backends." + backend);
        } else if (requested.equals("local")) {
            backend = "file";
            Map<String, Object> merged = new LinkedHashMap<>(blocks.getOrDefault("file", Map.of()));
            merged.putAll(blocks.getOrDefault("local", Map.of()));
            merged.putAll(overrides.backendBlock("local"));
            blocks.put("file", merged);
            deprecations.add("storage_backend \"local\" is deprecated: write \"storage_backend\": \"file\""
                    + " and move the settings of backends.local to backends.file");
        }
        overrides.backends.forEach((name, values) -> {
            if (!name.equals("acb") && !name.equals("local")) {
                blocks.computeIfAbsent(name, n -> new LinkedHashMap<>()).putAll(values);
            }
        });
        for (Map.Entry<String, Map<String, Object>> block : blocks.entrySet()) {
            block.setValue(applyAliases(block.getKey(), block.getValue(), source));
        }

        Duration ttl = ttl(top, source, legacyTtl);
        Duration cleanup = Duration.ZERO;
        if (top.get(CLEANUP_INTERVAL_HOURS) != null) {
            long millis = nonNegativeMillis(top.get(CLEANUP_INTERVAL_HOURS), 3_600_000L, CLEANUP_INTERVAL_HOURS, source);
            cleanup = Duration.ofMillis(millis);
        }
        int attempts = SessionBuddyConfig.DEFAULT_MAX_UPDATE_ATTEMPTS;
        if (top.get(MAX_UPDATE_ATTEMPTS) != null) {
            BigDecimal value = number(top.get(MAX_UPDATE_ATTEMPTS), MAX_UPDATE_ATTEMPTS, source);
            if (value.stripTrailingZeros().scale() > 0 || value.compareTo(BigDecimal.ONE) < 0
                    || value.compareTo(BigDecimal.valueOf(10_000)) > 0) {
                throw new SessionConfigException(source, MAX_UPDATE_ATTEMPTS,
                        "must be a whole number from 1 to 10000, was " + value);
            }
            attempts = value.intValue();
        }
        Duration operationTimeout = Duration.ZERO;
        if (top.get(OPERATION_TIMEOUT_SECONDS) != null) {
            operationTimeout = Duration.ofMillis(positiveMillis(top.get(OPERATION_TIMEOUT_SECONDS), 1_000L,
                    OPERATION_TIMEOUT_SECONDS, source));
        }
        StoredFormat format = storedFormat(top, source);
        for (String warning : deprecations) {
            LOG.warn("{}: {}", source, warning);
        }
        return new SessionBuddyConfig(backend, ttl, cleanup, attempts, blocks, source, deprecations, format,
                operationTimeout, flag(top, REFRESH_TTL_ON_READ, false, source));
    }

    /** A true/false setting (a JSON boolean, or the string of one from an override). */
    private static boolean flag(Map<String, Object> top, String key, boolean defaultValue, String source) {
        Object value = top.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (value instanceof Boolean b) {
            return b;
        }
        if (value instanceof String text && (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(text);
        }
        throw new SessionConfigException(source, key, "expected true or false, was " + describe(value));
    }

    private StoredFormat storedFormat(Map<String, Object> top, String source) {
        Compression compression = Compression.preferred();
        if (top.get(COMPRESSION) != null) {
            try {
                compression = Compression.byConfigName(text(top, COMPRESSION, source, ""));
            } catch (IllegalArgumentException e) {
                throw new SessionConfigException(source, COMPRESSION, e.getMessage(), e);
            }
            if (!compression.isAvailable()) {
                throw new SessionConfigException(source, COMPRESSION, "\"" + compression.configName() + "\" needs"
                        + " com.github.luben:zstd-jni on the class path (the file, redis and s3 backends bring it);"
                        + " add it, or choose gzip or none");
            }
        }
        int threshold = byteCount(top, COMPRESSION_THRESHOLD_BYTES, 0,
                StoredFormat.DEFAULT_COMPRESSION_THRESHOLD_BYTES, source);
        int maxSession = byteCount(top, MAX_SESSION_BYTES, 1, StoredFormat.DEFAULT_MAX_SESSION_BYTES, source);
        int maxDecoded = byteCount(top, MAX_DECODED_BYTES, 1,
                Math.max(StoredFormat.DEFAULT_MAX_DECODED_BYTES, maxSession), source);
        if (maxDecoded < maxSession) {
            throw new SessionConfigException(source, MAX_DECODED_BYTES, "must be at least max_session_bytes ("
                    + maxSession + "), was " + maxDecoded);
        }
        boolean required = flag(top, ENCRYPTION_REQUIRED, true, source);
        int writeVersion = SessionRecordCodec.FORMAT_VERSION;
        Object versionValue = top.get(STORED_FORMAT_VERSION);
        if (versionValue != null) {
            BigDecimal number = number(versionValue, STORED_FORMAT_VERSION, source);
            if (number.stripTrailingZeros().scale() > 0 || number.compareTo(BigDecimal.ONE) < 0
                    || number.compareTo(BigDecimal.valueOf(SessionRecordCodec.FORMAT_VERSION)) > 0) {
                throw new SessionConfigException(source, STORED_FORMAT_VERSION, "must be 1 or "
                        + SessionRecordCodec.FORMAT_VERSION + " (the envelope version written), was " + number);
            }
            writeVersion = number.intValue();
        }
        return new StoredFormat(compression, threshold, maxSession, maxDecoded, keyRing(top, source), required,
                writeVersion);
    }

    private static int byteCount(Map<String, Object> top, String key, int min, int fallback, String source) {
        Object value = top.get(key);
        if (value == null) {
            return fallback;
        }
        BigDecimal number = number(value, key, source);
        if (number.stripTrailingZeros().scale() > 0 || number.compareTo(BigDecimal.valueOf(min)) < 0
                || number.compareTo(BigDecimal.valueOf(1L << 30)) > 0) {
            throw new SessionConfigException(source, key, "must be a whole number of bytes from " + min
                    + " to 1073741824 (1 GiB), was " + number);
        }
        return number.intValue();
    }

    /**
     * The key ring from {@code encryption_keys} (an object of key id to key reference) and
     * {@code encryption_active_key}. A reference is {@code base64:<32 bytes in base64>},
     * {@code env:<VARIABLE>} (the variable holds the base64 key) or {@code file:<path>} (the file
     * holds the base64 key). Key material never appears in an error.
     */
    private KeyRing keyRing(Map<String, Object> top, String source) {
        Object keys = top.get(ENCRYPTION_KEYS);
        Object active = top.get(ENCRYPTION_ACTIVE_KEY);
        if (keys == null) {
            if (active != null) {
                throw new SessionConfigException(source, ENCRYPTION_ACTIVE_KEY,
                        "is set but encryption_keys is not: add the keys it names");
            }
            return KeyRing.none();
        }
        if (!(keys instanceof Map<?, ?> map)) {
            throw new SessionConfigException(source, ENCRYPTION_KEYS, "expected an object of key id to"
                    + " \"base64:...\", \"env:VARIABLE\" or \"file:PATH\", was " + (keys instanceof String ? "a string" : describe(keys)));
        }
        if (map.isEmpty()) {
            throw new SessionConfigException(source, ENCRYPTION_KEYS, "is empty: give at least one key, or remove it"
                    + " to store sessions unencrypted");
        }
        Map<String, byte[]> material = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            String id = String.valueOf(entry.getKey());
            String key = ENCRYPTION_KEYS + "." + id;
            if (!SessionIds.isPlainName(id)) {
                throw new SessionConfigException(source, key, "a key id must match " + KeyRing.KEY_ID_RULE);
            }
            if (!(entry.getValue() instanceof String reference)) {
                throw new SessionConfigException(source, key, "expected \"base64:...\", \"env:VARIABLE\" or"
                        + " \"file:PATH\"");
            }
            material.put(id, keyMaterial(reference.trim(), key, source));
        }
        String activeId;
        if (active == null) {
            if (material.size() > 1) {
                throw new SessionConfigException(source, ENCRYPTION_ACTIVE_KEY, "is required when"
                        + " encryption_keys holds more than one key " + material.keySet());
            }
            activeId = material.keySet().iterator().next();
        } else if (active instanceof String s && material.containsKey(s.trim())) {
            activeId = s.trim();
        } else {
            throw new SessionConfigException(source, ENCRYPTION_ACTIVE_KEY, "must name one of encryption_keys "
                    + material.keySet() + ", was " + describe(active));
        }
        return KeyRing.of(activeId, material);
    }

    private byte[] keyMaterial(String reference, String key, String source) {
        String base64;
        String origin;
        if (reference.startsWith("base64:")) {
            base64 = reference.substring("base64:".length());
            origin = "the base64 value";
        } else if (reference.startsWith("env:")) {
            String variable = reference.substring("env:".length());
            base64 = environment.get(variable);
            origin = "environment variable " + variable;
            if (base64 == null || base64.isBlank()) {
                throw new SessionConfigException(source, key, origin + " is not set");
            }
        } else if (reference.startsWith("file:")) {
            Path file = Path.of(reference.substring("file:".length()));
            origin = "key file " + file;
            try {
                base64 = Files.readString(file);
            } catch (IOException e) {
                throw new SessionConfigException(source, key, "cannot read " + origin + ": "
                        + e.getClass().getSimpleName(), e);
            }
        } else {
            throw new SessionConfigException(source, key, "a key must be given as \"base64:...\","
                    + " \"env:VARIABLE\" or \"file:PATH\" (the value is not shown)");
        }
        byte[] raw;
        try {
            raw = java.util.Base64.getDecoder().decode(base64.trim());
        } catch (IllegalArgumentException e) {
            throw new SessionConfigException(source, key, origin + " is not valid base64 (the value is not shown)");
        }
        if (raw.length != KeyRing.KEY_BYTES) {
            throw new SessionConfigException(source, key, origin + " decodes to " + raw.length + " bytes; an AES-256"
                    + " key is " + KeyRing.KEY_BYTES + " bytes (make one with: openssl rand -base64 32)");
        }
        return raw;
    }

    private static Duration ttl(Map<String, Object> top, String source, Duration legacyTtl) {
        Object hours = top.get(SESSION_TTL_HOURS);
        Object seconds = top.get(DEFAULT_TTL_SECONDS);
        if (hours != null && seconds != null) {
            throw new SessionConfigException(source, DEFAULT_TTL_SECONDS,
                    "give either session_ttl_hours or default_ttl_seconds, not both");
        }
        if (hours != null) {
            return Duration.ofMillis(positiveMillis(hours, 3_600_000L, SESSION_TTL_HOURS, source));
        }
        if (seconds != null) {
            return Duration.ofMillis(positiveMillis(seconds, 1000L, DEFAULT_TTL_SECONDS, source));
        }
        return legacyTtl != null ? legacyTtl : SessionBuddyConfig.DEFAULT_TTL;
    }

    private static long positiveMillis(Object value, long millisPerUnit, String key, String source) {
        long millis = nonNegativeMillis(value, millisPerUnit, key, source);
        if (millis <= 0) {
            throw new SessionConfigException(source, key, "must be greater than 0, was " + value);
        }
        return millis;
    }

    private static long nonNegativeMillis(Object value, long millisPerUnit, String key, String source) {
        BigDecimal number = number(value, key, source);
        if (number.signum() < 0) {
            throw new SessionConfigException(source, key, "must not be negative, was " + number);
        }
        BigDecimal millis = number.multiply(BigDecimal.valueOf(millisPerUnit));
        if (millis.compareTo(BigDecimal.valueOf(Duration.ofDays(36_500).toMillis())) > 0) {
            throw new SessionConfigException(source, key, "is too large (at most 100 years), was " + number);
        }
        return millis.longValue();
    }

    private static BigDecimal number(Object value, String key, String source) {
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new SessionConfigException(source, key, "expected a number within range, was a number too"
                        + " large to represent (" + d + ")");
            }
        }
        if (value instanceof Number n) {
            try {
                return new BigDecimal(n.toString());
            } catch (NumberFormatException e) {
                throw new SessionConfigException(source, key, "expected a number, was " + n, e);
            }
        }
        if (value instanceof String s) {
            try {
                return new BigDecimal(s.trim());
            } catch (NumberFormatException e) {
                throw new SessionConfigException(source, key, "expected a number, was \"" + s + "\"", e);
            }
        }
        throw new SessionConfigException(source, key, "expected a number, was " + describe(value));
    }

    private static String text(Map<String, Object> top, String key, String source, String fallback) {
        Object value = top.get(key);
        if (value == null) {
            return fallback;
        }
        if (!(value instanceof String s) || s.isBlank()) {
            throw new SessionConfigException(source, key, "expected a non-empty string, was " + describe(value));
        }
        return s.trim().toLowerCase(Locale.ROOT);
    }

    private static Map<String, Map<String, Object>> backendBlocks(Object value, String source) {
        Map<String, Map<String, Object>> blocks = new LinkedHashMap<>();
        if (value == null) {
            return blocks;
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw new SessionConfigException(source, BACKENDS, "expected an object of backend blocks, was "
                    + describe(value));
        }
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            String name = String.valueOf(entry.getKey());
            if (!(entry.getValue() instanceof Map<?, ?> block)) {
                throw new SessionConfigException(source, BACKENDS + "." + name, "expected an object, was "
                        + describe(entry.getValue()));
            }
            Map<String, Object> copy = new LinkedHashMap<>();
            block.forEach((k, v) -> copy.put(String.valueOf(k), v));
            blocks.put(name, copy);
        }
        return blocks;
    }

    private static Map<String, Object> applyAliases(String backend, Map<String, Object> block, String source) {
        Map<String, Object> result = new LinkedHashMap<>();
        for (Map.Entry<String, Object> entry : block.entrySet()) {
            String key = KEY_ALIASES.getOrDefault(entry.getKey(), entry.getKey());
            if (result.containsKey(key)) {
                String legacy = KEY_ALIASES.entrySet().stream().filter(a -> a.getValue().equals(key))
                        .map(Map.Entry::getKey).findFirst().orElse(entry.getKey());
                throw new SessionConfigException(source, BACKENDS + "." + backend + "." + legacy,
                        "is the original's name for '" + key + "', which is given too: keep one");
            }
            result.put(key, entry.getValue());
        }
        return result;
    }

    private static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Map) {
            return "an object";
        }
        if (value instanceof List) {
            return "a list";
        }
        return value instanceof String ? "\"" + value + "\"" : value.toString();
    }

    private Overrides collectOverrides(String source) {
        Overrides overrides = new Overrides();
        for (Map.Entry<String, String> entry : new TreeMap<>(environment).entrySet()) {
            String name = entry.getKey();
            if (!name.startsWith(ENV_PREFIX) || name.equals(CONFIG_FILE_ENV)) {
                continue;
            }
            String rest = name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT);
            if (TOP_LEVEL_KEYS.contains(rest) && !rest.equals(BACKENDS)) {
                overrides.topLevel.put(rest, entry.getValue());
            } else {
                int split = rest.indexOf('_');
                if (split <= 0 || split == rest.length() - 1) {
                    throw new SessionConfigException(source, name, "environment variable names no known key;"
                            + " use SESSION_BUDDY_<KEY> or SESSION_BUDDY_<BACKEND>_<KEY>");
                }
                overrides.backendBlock(rest.substring(0, split)).put(rest.substring(split + 1), entry.getValue());
            }
        }
        for (Map.Entry<String, String> entry : new TreeMap<>(systemProperties).entrySet()) {
            String name = entry.getKey();
            if (!name.startsWith(PROPERTY_PREFIX) || name.equals(CONFIG_FILE_PROPERTY)) {
                continue;
            }
            String rest = name.substring(PROPERTY_PREFIX.length());
            int split = rest.indexOf('.');
            if (split < 0 && TOP_LEVEL_KEYS.contains(rest) && !rest.equals(BACKENDS)) {
                overrides.topLevel.put(rest, entry.getValue());
            } else if (split > 0 && split < rest.length() - 1) {
                overrides.backendBlock(rest.substring(0, split)).put(rest.substring(split + 1), entry.getValue());
            } else {
                throw new SessionConfigException(source, name, "system property names no known key;"
                        + " use sessionbuddy.<key> or sessionbuddy.<backend>.<key>");
            }
        }
        return overrides;
    }

    private static final class Overrides {
        final Map<String, Object> topLevel = new LinkedHashMap<>();
        final Map<String, Map<String, Object>> backends = new LinkedHashMap<>();

        Map<String, Object> backendBlock(String name) {
            return backends.computeIfAbsent(name, n -> new LinkedHashMap<>());
        }
    }

    /**
     * Config files may hold secrets: a parse error quotes no part of the text (as the record
     * codec's parser, and for the same reason).
     */
    private static final JsonFactory JSON = JsonFactory.builder()
            .errorReportConfiguration(com.fasterxml.jackson.core.ErrorReportConfiguration.builder()
                    .maxErrorTokenLength(0).maxRawContentLength(0).build())
            .disable(com.fasterxml.jackson.core.StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .build();

    /**
     * Reads a JSON object as maps, lists, strings, numbers ({@code Integer}, {@code Long},
     * {@code BigInteger}, {@code Double}), booleans and nulls; {@code null} for the JSON {@code null}.
     *
     * @throws IOException when the text is not one JSON object (or null)
     */
    private static Map<String, Object> readObject(String json) throws IOException {
        try (JsonParser parser = JSON.createParser(json)) {
            JsonToken first = parser.nextToken();
            if (first == JsonToken.VALUE_NULL) {
                return null;
            }
            if (first != JsonToken.START_OBJECT) {
                throw new com.fasterxml.jackson.core.JsonParseException(parser, "expected a JSON object, found "
                        + (first == null ? "nothing" : first.asString() == null ? first.name() : first.asString()));
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> object = (Map<String, Object>) readValue(parser);
            if (parser.nextToken() != null) {
                throw new com.fasterxml.jackson.core.JsonParseException(parser, "unexpected content after the object");
            }
            return object;
        }
    }

    private static Object readValue(JsonParser parser) throws IOException {
        switch (parser.currentToken()) {
            case START_OBJECT -> {
                Map<String, Object> object = new java.util.LinkedHashMap<>();
                for (JsonToken token = parser.nextToken(); token == JsonToken.FIELD_NAME; token = parser.nextToken()) {
                    String name = parser.currentName();
                    parser.nextToken();
                    object.put(name, readValue(parser));
                }
                return object;
            }
            case START_ARRAY -> {
                java.util.List<Object> array = new java.util.ArrayList<>();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    array.add(readValue(parser));
                }
                return array;
            }
            case VALUE_STRING -> {
                return parser.getText();
            }
            case VALUE_NUMBER_INT -> {
                return parser.getNumberValue(); // Integer, Long or BigInteger, the smallest that fits
            }
            case VALUE_NUMBER_FLOAT -> {
                return parser.getDoubleValue();
            }
            case VALUE_TRUE -> {
                return true;
            }
            case VALUE_FALSE -> {
                return false;
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new com.fasterxml.jackson.core.JsonParseException(parser, "unexpected token "
                    + parser.currentToken());
        }
    }

}
