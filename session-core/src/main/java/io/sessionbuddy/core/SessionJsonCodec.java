package io.sessionbuddy.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON form of a {@link SessionState}, with the original Python model's field names.
 *
 * <p>Plain Jackson trees: no default typing, no Java serialization, nothing in a record can name
 * a class to instantiate. Timestamps are written as ISO-8601 instants ({@code ...Z}); on read, a
 * timestamp without a zone (as the original wrote them) is taken as UTC. Unknown fields are kept.
 */
public final class SessionJsonCodec {
    static final String SESSION_ID = "session_id";
    static final String USER_ID = "user_id";
    static final String PROJECT_ID = "project_id";
    static final String CREATED_AT = "created_at";
    static final String LAST_ACTIVITY = "last_activity";
    static final String PERMISSIONS = "permissions";
    static final String CONVERSATION_HISTORY = "conversation_history";
    static final String REFLECTION_DATA = "reflection_data";
    static final String APP_MONITORING_STATE = "app_monitoring_state";
    static final String LLM_PROVIDER_CONFIGS = "llm_provider_configs";
    static final String METADATA = "metadata";
    static final String EXPIRES_AT = "expires_at";
    static final String VERSION = "version";

    /** Every field name this version knows, in the order they are written. */
    public static final Set<String> KNOWN_FIELDS = Set.of(SESSION_ID, USER_ID, PROJECT_ID, CREATED_AT,
            LAST_ACTIVITY, PERMISSIONS, CONVERSATION_HISTORY, REFLECTION_DATA, APP_MONITORING_STATE,
            LLM_PROVIDER_CONFIGS, METADATA, EXPIRES_AT, VERSION);

    private SessionJsonCodec() {
    }

    /**
     * The UTF-8 JSON bytes of {@code state}.
     *
     * @param state the session
     * @return its JSON, UTF-8
     */
    public static byte[] toBytes(SessionState state) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(1024);
        write(state, out);
        return out.toByteArray();
    }

    /**
     * Streams the UTF-8 JSON bytes of {@code state} (the same bytes as {@link #toBytes(SessionState)})
     * to {@code out}, which is closed at the end: for writers that keep their own buffers.
     *
     * @param state the session
     * @param out where the bytes go
     */
    public static void writeTo(SessionState state, java.io.OutputStream out) {
        write(java.util.Objects.requireNonNull(state, "state"), java.util.Objects.requireNonNull(out, "out"));
    }

    /**
     * The UTF-8 JSON of a tree, its fields in the tree's order, compact (frozen trees and the
     * values of a {@link SessionState} included). {@code toBytes(toTree(state))} is the session in
     * the original field order ({@code conversation_history} after {@code permissions}), which
     * does not change when the stored order does: what to hash for a fingerprint of a session's
     * content.
     *
     * @param tree the JSON value
     * @return its JSON, UTF-8
     */
    public static byte[] toBytes(JsonNode tree) {
        java.util.Objects.requireNonNull(tree, "tree");
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(1024);
        try (com.fasterxml.jackson.core.JsonGenerator json = JsonSupport.FACTORY.createGenerator(out)) {
            JsonSupport.writeTree(json, tree);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a JSON tree", e);
        }
        return out.toByteArray();
    }

    /**
     * The length of {@link #toBytes}, counted without keeping the bytes.
     *
     * @param state the session
     * @return the JSON length in bytes
     */
    public static long size(SessionState state) {
        final class Counter extends java.io.OutputStream {
            long count;

            @Override
            public void write(int b) {
                count++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                count += len;
            }
        }
        Counter counter = new Counter();
        write(state, counter);
        return counter.count;
    }

    /**
     * An upper bound of {@link #size}, from a walk over the values that encodes nothing: every
     * character of a string or key counts as 6 bytes (an escaped control character; UTF-8 needs at
     * most 3 per UTF-16 char), every number as its longest form. Far cheaper than {@link #size}
     * for a session well under a limit; exact only in the sense that it is never less.
     *
     * @param state the session
     * @return a bound never below the JSON length in bytes
     */
    public static long sizeUpperBound(SessionState state) {
        long bound = 512; // the fixed field names, timestamps, version and punctuation
        bound += textBound(state.sessionId()) + textBound(state.userId()) + textBound(state.projectId());
        for (String permission : state.permissions()) {
            bound += textBound(permission) + 1;
        }
        List<ObjectNode> encoded = state.conversationHistory();
        if (encoded instanceof LazyHistory lazy) {
            bound += lazy.recordedLength() + 1; // written as it was read
            encoded = lazy.appended();
        }
        for (ObjectNode entry : encoded) {
            bound += nodeBound(entry) + 1;
        }
        for (ObjectNode object : state.objects()) {
            bound += nodeBound(object);
        }
        for (Map.Entry<String, JsonNode> extra : state.extraFields().properties()) {
            bound += textBound(extra.getKey()) + 2 + nodeBound(extra.getValue());
        }
        return bound;
    }

    private static long textBound(String text) {
        return 6L * text.length() + 2;
    }

    /** Recursive: nesting is at most {@code JsonLimits.MAX_DEPTH}, checked when the state was made. */
    private static long nodeBound(JsonNode node) {
        if (node.isObject()) {
            long bound = 2;
            for (Map.Entry<String, JsonNode> field : node.properties()) {
                bound += textBound(field.getKey()) + 2 + nodeBound(field.getValue());
            }
            return bound;
        }
        if (node.isArray()) {
            long bound = 2;
            for (JsonNode element : node) {
                bound += nodeBound(element) + 1;
            }
            return bound;
        }
        if (node.isTextual()) {
            return textBound(node.textValue());
        }
        if (node.isBigDecimal() || node.isBigInteger()) {
            return node.numberValue().toString().length() + 2L;
        }
        if (node.isNumber()) {
            return 32;
        }
        return 8; // true, false, null
    }

    /** Streams the JSON of {@code state}, straight from its fields (no intermediate tree or copies). */
    private static void write(SessionState state, java.io.OutputStream out) {
        try (com.fasterxml.jackson.core.JsonGenerator json = JsonSupport.FACTORY.createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField(SESSION_ID, state.sessionId());
            json.writeStringField(USER_ID, state.userId());
            json.writeStringField(PROJECT_ID, state.projectId());
            json.writeStringField(CREATED_AT, formatTimestamp(state.createdAt()));
            json.writeStringField(LAST_ACTIVITY, formatTimestamp(state.lastActivity()));
            json.writeArrayFieldStart(PERMISSIONS);
            for (String permission : state.permissions()) {
                json.writeString(permission);
            }
            json.writeEndArray();
            String[] names = {REFLECTION_DATA, APP_MONITORING_STATE, LLM_PROVIDER_CONFIGS, METADATA};
            ObjectNode[] objects = state.objects();
            for (int i = 0; i < names.length; i++) {
                json.writeFieldName(names[i]);
                JsonSupport.writeTree(json, objects[i]);
            }
            if (state.expiresAt() != null) {
                json.writeStringField(EXPIRES_AT, formatTimestamp(state.expiresAt()));
            }
            json.writeNumberField(VERSION, state.version());
            for (Map.Entry<String, JsonNode> extra : state.extraFields().properties()) {
                json.writeFieldName(extra.getKey());
                JsonSupport.writeTree(json, extra.getValue());
            }
            // last, so that a reader can leave it unparsed until it is used (see fromRecordBytes)
            json.writeFieldName(CONVERSATION_HISTORY);
            if (state.conversationHistory() instanceof LazyHistory lazy) {
                lazy.writeTo(json); // its bytes as read, not every entry written again
            } else {
                json.writeStartArray();
                for (ObjectNode entry : state.conversationHistory()) {
                    JsonSupport.writeTree(json, entry);
                }
                json.writeEndArray();
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("cannot write session " + state.sessionId() + " as JSON", e);
        }
    }

    /**
     * Reads a state from UTF-8 JSON bytes.
     *
     * @param json the UTF-8 JSON of a session
     * @return the session
     * @throws CorruptSessionException when the bytes are not a valid session record
     */
    public static SessionState fromBytes(byte[] json) {
        return fromBytes(json, 0, json.length);
    }

    /**
     * Reads a state from {@code length} bytes of UTF-8 JSON at {@code offset}.
     *
     * @param json the bytes
     * @param offset where the JSON starts
     * @param length how many bytes it has
     * @return the session
     * @throws CorruptSessionException when the bytes are not a valid session record
     */
    public static SessionState fromBytes(byte[] json, int offset, int length) {
        return fromBytes(json, offset, length, java.time.ZoneOffset.UTC);
    }

    /**
     * Reads a state from {@code length} bytes of UTF-8 JSON at {@code offset}, taking timestamps
     * without a zone (as the original store wrote them up to v0.20.0: the writing host's local time)
     * to be in {@code naiveZone}.
     *
     * @param json the bytes
     * @param offset where the JSON starts
     * @param length how many bytes it has
     * @param naiveZone the zone of timestamps written without one
     * @return the session
     * @throws CorruptSessionException when the bytes are not a valid session record
     */
    public static SessionState fromBytes(byte[] json, int offset, int length, java.time.ZoneId naiveZone) {
        return fromBytes(json, offset, length, naiveZone, false);
    }

    /**
     * Reads a state as {@link #fromBytes(byte[], int, int, java.time.ZoneId)} does; with
     * {@code originalNumbers}, also the {@code NaN}, {@code Infinity} and {@code -Infinity} that the
     * original store's {@code json.dumps} wrote, each read as {@code null} (logged with its field):
     * JSON has no such numbers and this library refuses them on write, so a session holding one
     * still moves.
     *
     * @param json the bytes
     * @param offset where the JSON starts
     * @param length how many bytes it has
     * @param naiveZone the zone of timestamps written without one
     * @param originalNumbers whether {@code NaN} and infinities are read as {@code null}
     * @return the session
     * @throws CorruptSessionException when the bytes are not a valid session record
     */
    public static SessionState fromBytes(byte[] json, int offset, int length, java.time.ZoneId naiveZone,
            boolean originalNumbers) {
        return read(json, offset, length, naiveZone, originalNumbers, null);
    }

    /**
     * Reads a state from the JSON of a record whose checksum was verified (what the stored
     * format's codec calls once the envelope's CRC-32C, and the GCM tag when encrypted, matched):
     * as {@link #fromBytes(byte[], int, int)}, except that a {@code conversation_history} written
     * last (as this library writes it, after {@code version}) is kept as its bytes and parsed on
     * first use, so that reading a session costs nothing for a conversation nobody looks at, and
     * writing it back copies those bytes. A conversation that then cannot be read throws
     * {@link CorruptSessionException} from the first {@code conversationHistory()} method that
     * needs its entries.
     *
     * @param json the bytes; with {@code owned}, nobody may write to them afterwards
     * @param offset where the JSON starts
     * @param length how many bytes it has
     * @param naiveZone the zone of timestamps written without one
     * @param owned whether the state may keep {@code json} itself (else the conversation's bytes
     *     are copied)
     * @return the session
     * @throws CorruptSessionException when the bytes are not a valid session record
     */
    public static SessionState fromRecordBytes(byte[] json, int offset, int length, java.time.ZoneId naiveZone,
            boolean owned) {
        return read(json, offset, length, naiveZone, false, owned);
    }

    /** {@code lazyOwned}: {@code null} to parse everything, else whether the bytes may be kept. */
    private static SessionState read(byte[] json, int offset, int length, java.time.ZoneId naiveZone,
            boolean originalNumbers, Boolean lazyOwned) {
        // One streaming pass straight into frozen (read-only) trees, checked against the limits
        // as they are read: the state owns them from the start and never copies them.
        ObjectNode record = JsonSupport.NODES.objectNode();
        LazyHistory lazyHistory = null;
        try (com.fasterxml.jackson.core.JsonParser parser = (originalNumbers ? JsonSupport.LEGACY_FACTORY
                : JsonSupport.FACTORY).createParser(json, offset, length)) {
            if (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                throw corrupt(null, "a session record must be a JSON object");
            }
            for (com.fasterxml.jackson.core.JsonToken token = parser.nextToken();
                    token == com.fasterxml.jackson.core.JsonToken.FIELD_NAME; token = parser.nextToken()) {
                String name = parser.currentName();
                com.fasterxml.jackson.core.JsonToken value = parser.nextToken();
                if (lazyOwned != null && value == com.fasterxml.jackson.core.JsonToken.START_ARRAY
                        && name.equals(CONVERSATION_HISTORY) && record.has(VERSION)) {
                    lazyHistory = lazyHistory(json, offset, length,
                            offset + (int) parser.currentTokenLocation().getByteOffset(), lazyOwned, record);
                    if (lazyHistory != null) {
                        break; // the last field: the rest of the record is the array and its '}'
                    }
                }
                try {
                    record.set(name, FrozenJson.read(parser, name, name.equals(CONVERSATION_HISTORY) ? 0 : 1));
                } catch (IllegalArgumentException e) {
                    JsonNode id = record.get(SESSION_ID);
                    throw corrupt(id != null && id.isTextual() ? id.textValue() : null, e.getMessage());
                }
            }
        } catch (JsonProcessingException e) {
            throw new CorruptSessionException(null, null, "not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new CorruptSessionException(null, null, "not valid JSON: " + e.getMessage(), e);
        }
        return fromTree(record, naiveZone, lazyHistory);
    }

    /**
     * The conversation starting at {@code start} as a {@link LazyHistory}, when nothing but the
     * array and the record's closing brace follows it; else {@code null} (read it as any field).
     */
    private static LazyHistory lazyHistory(byte[] json, int offset, int length, int start, boolean owned,
            ObjectNode record) {
        int end = offset + length - 1;
        while (end > start && isWhitespace(json[end])) {
            end--;
        }
        if (end <= start || json[end] != '}') {
            return null;
        }
        end--;
        while (end > start && isWhitespace(json[end])) {
            end--;
        }
        if (json[end] != ']') {
            return null;
        }
        JsonNode id = record.get(SESSION_ID);
        String sessionId = id != null && id.isTextual() ? id.textValue() : null;
        int historyLength = end + 1 - start;
        return owned ? new LazyHistory(json, start, historyLength, sessionId)
                : new LazyHistory(java.util.Arrays.copyOfRange(json, start, end + 1), 0, historyLength, sessionId);
    }

    private static boolean isWhitespace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    /**
     * The JSON tree of {@code state}. The top-level object is new and editable; the values in it
     * are the state's own read-only ones ({@code deepCopy()} the result for a tree editable at
     * every depth).
     *
     * @param state the session
     * @return its JSON tree
     */
    public static ObjectNode toTree(SessionState state) {
        ObjectNode node = JsonSupport.NODES.objectNode();
        node.put(SESSION_ID, state.sessionId());
        node.put(USER_ID, state.userId());
        node.put(PROJECT_ID, state.projectId());
        node.put(CREATED_AT, formatTimestamp(state.createdAt()));
        node.put(LAST_ACTIVITY, formatTimestamp(state.lastActivity()));
        ArrayNode permissions = node.putArray(PERMISSIONS);
        state.permissions().forEach(permissions::add);
        node.putArray(CONVERSATION_HISTORY).addAll(state.conversationHistory()); // shared: read-only
        node.set(REFLECTION_DATA, state.reflectionData());
        node.set(APP_MONITORING_STATE, state.appMonitoringState());
        node.set(LLM_PROVIDER_CONFIGS, state.llmProviderConfigs());
        node.set(METADATA, state.metadata());
        if (state.expiresAt() != null) {
            node.put(EXPIRES_AT, formatTimestamp(state.expiresAt()));
        }
        node.put(VERSION, state.version());
        node.setAll(state.extraFields());
        return node;
    }

    /**
     * Reads a state from a JSON tree.
     *
     * @param tree a session's JSON object
     * @return the session
     * @throws CorruptSessionException naming the field that is missing or of the wrong type
     */
    public static SessionState fromTree(JsonNode tree) {
        return fromTree(tree, java.time.ZoneOffset.UTC);
    }

    /**
     * Reads a state from a JSON tree, taking timestamps without a zone to be in {@code naiveZone}.
     *
     * @param tree a session's JSON object
     * @param naiveZone the zone of timestamps written without one
     * @return the session
     * @throws CorruptSessionException naming the field that is missing or of the wrong type
     */
    public static SessionState fromTree(JsonNode tree, java.time.ZoneId naiveZone) {
        return fromTree(tree, naiveZone, null);
    }

    /** {@code history}: the conversation when it was kept unparsed, else {@code null}. */
    private static SessionState fromTree(JsonNode tree, java.time.ZoneId naiveZone, LazyHistory history) {
        java.util.Objects.requireNonNull(naiveZone, "naiveZone");
        if (tree == null || !tree.isObject()) {
            throw corrupt(null, "a session record must be a JSON object");
        }
        String id = tree.path(SESSION_ID).isTextual() ? tree.get(SESSION_ID).asText() : null;
        try {
            ObjectNode extra = JsonSupport.NODES.objectNode();
            for (Map.Entry<String, JsonNode> field : tree.properties()) {
                if (!KNOWN_FIELDS.contains(field.getKey())) {
                    extra.set(field.getKey(), field.getValue());
                }
            }
            Instant created = requiredInstant(tree, CREATED_AT, id, naiveZone);
            JsonNode version = tree.get(VERSION);
            if (version != null && !version.isNull() && !version.canConvertToExactIntegral()) {
                throw corrupt(id, "field 'version' must be an integer");
            }
            return new SessionState(
                    requiredText(tree, SESSION_ID, id),
                    requiredText(tree, USER_ID, id),
                    requiredText(tree, PROJECT_ID, id),
                    created,
                    optionalInstant(tree, LAST_ACTIVITY, id, naiveZone),
                    stringList(tree, PERMISSIONS, id),
                    history != null ? history : objectList(tree, CONVERSATION_HISTORY, id),
                    object(tree, REFLECTION_DATA, id),
                    object(tree, APP_MONITORING_STATE, id),
                    object(tree, LLM_PROVIDER_CONFIGS, id),
                    object(tree, METADATA, id),
                    optionalInstant(tree, EXPIRES_AT, id, naiveZone),
                    version == null || version.isNull() ? 0 : version.asLong(),
                    extra);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw corrupt(id, e.getMessage());
        }
    }

    /**
     * Parses an ISO-8601 timestamp; one without a zone or offset is read as UTC (the original
     * Python store wrote naive timestamps). A space instead of the {@code T} is accepted (Python's
     * {@code str(datetime)}, which the original's validator accepts).
     *
     * @param text the timestamp
     * @return the instant
     * @throws IllegalArgumentException when {@code text} is not an ISO-8601 date-time
     */
    public static Instant parseTimestamp(String text) {
        return parseTimestamp(text, ZoneOffset.UTC);
    }

    /**
     * Parses an ISO-8601 timestamp; one without a zone or offset is taken to be in {@code naiveZone}
     * (timestamps with one keep theirs). A space instead of the {@code T} is accepted.
     *
     * @param text the timestamp
     * @param naiveZone the zone of a timestamp written without one
     * @return the instant
     * @throws IllegalArgumentException when {@code text} is not an ISO-8601 date-time
     */
    public static Instant parseTimestamp(String text, java.time.ZoneId naiveZone) {
        String t = text.length() > 10 && text.charAt(10) == ' ' ? text.substring(0, 10) + 'T' + text.substring(11)
                : text;
        boolean utc = naiveZone.equals(ZoneOffset.UTC);
        Instant fast = utc ? parseCommonTimestamp(t) : null;
        if (fast != null) {
            return fast;
        }
        try {
            return OffsetDateTime.parse(t).toInstant();
        } catch (DateTimeException withZone) {
            try {
                return LocalDateTime.parse(t).atZone(naiveZone).toInstant();
            } catch (DateTimeException naive) {
                throw new IllegalArgumentException("not an ISO-8601 timestamp: \"" + text + "\"", naive);
            }
        }
    }

    /**
     * The forms this library and the original write ({@code 2026-11-20T09:15:00Z},
     * {@code 2026-11-20T09:15:00.123456Z}, {@code 2026-11-20T09:15:00.123456} naive = UTC,
     * {@code +02:00} offsets), parsed by hand: {@code DateTimeFormatter} allocates kilobytes per
     * call, and every read parses three timestamps. {@code null} for anything else (the general
     * parser then decides), including values out of range.
     */
    static Instant parseCommonTimestamp(String t) {
        int n = t.length();
        if (n < 19 || t.charAt(4) != '-' || t.charAt(7) != '-' || t.charAt(10) != 'T' || t.charAt(13) != ':'
                || t.charAt(16) != ':') {
            return null;
        }
        int year = digits(t, 0, 4);
        int month = digits(t, 5, 2);
        int day = digits(t, 8, 2);
        int hour = digits(t, 11, 2);
        int minute = digits(t, 14, 2);
        int second = digits(t, 17, 2);
        if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59
                || second < 0 || second > 59 || day > lengthOfMonth(year, month)) {
            return null;
        }
        int i = 19;
        int nanos = 0;
        if (i < n && t.charAt(i) == '.') {
            int start = ++i;
            while (i < n && t.charAt(i) >= '0' && t.charAt(i) <= '9') {
                i++;
            }
            int count = i - start;
            if (count == 0 || count > 9) {
                return null;
            }
            nanos = digits(t, start, count);
            for (int k = count; k < 9; k++) {
                nanos *= 10;
            }
        }
        int offsetSeconds;
        if (i == n) {
            offsetSeconds = 0; // naive: UTC, as the original wrote them
        } else if (t.charAt(i) == 'Z' && i + 1 == n) {
            offsetSeconds = 0;
        } else if ((t.charAt(i) == '+' || t.charAt(i) == '-') && i + 6 == n && t.charAt(i + 3) == ':') {
            int oh = digits(t, i + 1, 2);
            int om = digits(t, i + 4, 2);
            if (oh < 0 || oh > 18 || om < 0 || om > 59) {
                return null;
            }
            offsetSeconds = (t.charAt(i) == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        } else {
            return null;
        }
        long epochDay = java.time.LocalDate.of(year, month, day).toEpochDay();
        return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3600L + minute * 60L + second - offsetSeconds, nanos);
    }

    /**
     * Days in a month of the proleptic Gregorian calendar ({@code YearMonth.lengthOfMonth()} without
     * {@code YearMonth}, whose class set-up builds a {@code DateTimeFormatter}: ~40 classes at start).
     */
    static int lengthOfMonth(int year, int month) {
        return switch (month) {
            case 2 -> year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28;
            case 4, 6, 9, 11 -> 30;
            default -> 31;
        };
    }

    /**
     * {@link Instant#toString()}, the same characters, without {@code DateTimeFormatter} (which
     * allocates on every call, and whose classes are a block of the start-up): years 0 to 9999 are
     * written here, others by {@code Instant.toString}. The fraction is written in groups of three
     * digits, as many as needed (none, millis, micros, nanos).
     */
    static String formatTimestamp(Instant instant) {
        long seconds = instant.getEpochSecond();
        if (seconds < -62_167_219_200L || seconds > 253_402_300_799L) { // before 0000-01-01 or after 9999-12-31
            return instant.toString();
        }
        long day = Math.floorDiv(seconds, 86_400);
        int secondOfDay = Math.floorMod(seconds, 86_400);
        java.time.LocalDate date = java.time.LocalDate.ofEpochDay(day);
        int nano = instant.getNano();
        char[] text = new char[nano == 0 ? 20 : nano % 1_000_000 == 0 ? 24 : nano % 1000 == 0 ? 27 : 30];
        put(text, 0, date.getYear(), 4);
        text[4] = '-';
        put(text, 5, date.getMonthValue(), 2);
        text[7] = '-';
        put(text, 8, date.getDayOfMonth(), 2);
        text[10] = 'T';
        put(text, 11, secondOfDay / 3600, 2);
        text[13] = ':';
        put(text, 14, secondOfDay / 60 % 60, 2);
        text[16] = ':';
        put(text, 17, secondOfDay % 60, 2);
        int end = 19;
        if (nano != 0) {
            text[end++] = '.';
            int digits = text.length - 21;
            put(text, end, nano / (digits == 3 ? 1_000_000 : digits == 6 ? 1000 : 1), digits);
            end += digits;
        }
        text[end] = 'Z';
        return new String(text);
    }

    private static void put(char[] text, int at, int value, int digits) {
        for (int i = at + digits - 1; i >= at; i--) {
            text[i] = (char) ('0' + value % 10);
            value /= 10;
        }
    }

    /** The decimal number of {@code count} ASCII digits at {@code start}, or -1. */
    private static int digits(String text, int start, int count) {
        int value = 0;
        for (int i = start; i < start + count; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static CorruptSessionException corrupt(String id, String message) {
        return new CorruptSessionException(null, id, "invalid session record: " + message, null);
    }

    private static String requiredText(JsonNode tree, String field, String id) {
        JsonNode node = tree.get(field);
        if (node == null || node.isNull()) {
            throw corrupt(id, "missing field '" + field + "'");
        }
        if (!node.isTextual()) {
            throw corrupt(id, "field '" + field + "' must be a string");
        }
        return node.asText();
    }

    private static Instant requiredInstant(JsonNode tree, String field, String id, java.time.ZoneId naiveZone) {
        Instant value = optionalInstant(tree, field, id, naiveZone);
        if (value == null) {
            throw corrupt(id, "missing field '" + field + "'");
        }
        return value;
    }

    private static Instant optionalInstant(JsonNode tree, String field, String id, java.time.ZoneId naiveZone) {
        JsonNode node = tree.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw corrupt(id, "field '" + field + "' must be an ISO-8601 string");
        }
        try {
            return parseTimestamp(node.asText(), naiveZone);
        } catch (IllegalArgumentException e) {
            throw corrupt(id, "field '" + field + "': " + e.getMessage());
        }
    }

    private static List<String> stringList(JsonNode tree, String field, String id) {
        JsonNode node = tree.get(field);
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw corrupt(id, "field '" + field + "' must be a list of strings");
        }
        List<String> values = new ArrayList<>(node.size());
        for (JsonNode element : node) {
            if (!element.isTextual()) {
                throw corrupt(id, "field '" + field + "' must be a list of strings");
            }
            values.add(element.asText());
        }
        return values;
    }

    private static List<ObjectNode> objectList(JsonNode tree, String field, String id) {
        JsonNode node = tree.get(field);
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw corrupt(id, "field '" + field + "' must be a list of JSON objects");
        }
        List<ObjectNode> values = new ArrayList<>(node.size());
        for (JsonNode element : node) {
            if (!element.isObject()) {
                throw corrupt(id, "field '" + field + "' must be a list of JSON objects");
            }
            values.add((ObjectNode) element);
        }
        return values;
    }

    private static ObjectNode object(JsonNode tree, String field, String id) {
        JsonNode node = tree.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw corrupt(id, "field '" + field + "' must be a JSON object");
        }
        return (ObjectNode) node;
    }
}
