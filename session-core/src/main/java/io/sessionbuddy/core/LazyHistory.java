package io.sessionbuddy.core;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/**
 * A record's {@code conversation_history} kept as the JSON bytes it was read from, parsed on first
 * use: a read of a session that does not look at its conversation (most requests: who is the user,
 * what may they do) does not pay for parsing it, and a write of a state whose conversation was not
 * replaced copies those bytes instead of encoding every entry again.
 *
 * <p>Only made from a record whose checksum was verified (the envelope's CRC-32C, and the GCM tag
 * when encrypted), so the bytes are what a writer of this library wrote; they are still parsed with
 * every limit of {@link JsonLimits}, and a conversation that cannot be read (a record made by hand
 * with a valid checksum) throws {@link CorruptSessionException} from the first method that needs
 * the entries. Before its bytes are copied into another record they pass the same checks (once:
 * parsed if the entries were used, else one pass that builds nothing), so a conversation that
 * cannot be read is never written on.
 *
 * <p>Entries appended with the builder ({@link SessionState.Builder#addConversationEntry}) are kept
 * beside the recorded bytes, so that a turn added to a long conversation encodes the new turn only.
 *
 * <p>Immutable to its readers and safe to share between threads: the entries are parsed at most a
 * few times when threads race (each result equal), and published through a volatile field.
 */
final class LazyHistory extends AbstractList<ObjectNode> implements RandomAccess {
    private final Recorded recorded;
    /** Entries appended since the record was read (frozen), after the recorded ones. */
    private final List<ObjectNode> appended;

    /**
     * @param json bytes the history owns: nobody writes to them afterwards
     * @param offset where the array ({@code [}) starts
     * @param length its length, to its {@code ]}
     * @param sessionId the session it belongs to, for errors
     */
    LazyHistory(byte[] json, int offset, int length, String sessionId) {
        this(new Recorded(json, offset, length, sessionId), List.of());
    }

    private LazyHistory(Recorded recorded, List<ObjectNode> appended) {
        this.recorded = recorded;
        this.appended = appended;
    }

    @Override
    public ObjectNode get(int index) {
        List<ObjectNode> entries = recorded.entries();
        return index < entries.size() ? entries.get(index) : appended.get(index - entries.size());
    }

    @Override
    public int size() {
        return recorded.entries().size() + appended.size();
    }

    /**
     * This history with {@code entry} appended, sharing the recorded bytes (and their entries,
     * once parsed): written back, they are copied and only the appended entries are encoded.
     *
     * @param entry a frozen entry
     */
    LazyHistory plus(ObjectNode entry) {
        ObjectNode[] grown = appended.toArray(new ObjectNode[appended.size() + 1]);
        grown[appended.size()] = entry;
        return new LazyHistory(recorded, List.of(grown));
    }

    /** Whether the recorded entries have been parsed (for tests). */
    boolean isParsed() {
        return recorded.entries != null;
    }

    /** The length of the recorded entries' JSON in bytes, exact. */
    int recordedLength() {
        return recorded.length;
    }

    /** The entries appended since the record was read. */
    List<ObjectNode> appended() {
        return appended;
    }

    /**
     * Writes the history as the next value of {@code generator}: the recorded bytes as they are,
     * once they passed every check of a read (parsed when used, else walked once without building
     * entries), so that a conversation this library cannot read is never written into another
     * record; then any appended entries.
     */
    void writeTo(JsonGenerator generator) throws IOException {
        int recordedEntries = recorded.checkedSize();
        if (appended.isEmpty()) {
            generator.writeRawValue(new RawJson(recorded.json, recorded.offset, recorded.length));
            return;
        }
        generator.writeStartArray();
        if (recordedEntries > 0) {
            // the recorded entries between '[' and ']', as one raw value: the generator puts the comma after it
            generator.writeRawValue(new RawJson(recorded.json, recorded.offset + 1, recorded.length - 2));
        }
        for (ObjectNode entry : appended) {
            JsonSupport.writeTree(generator, entry);
        }
        generator.writeEndArray();
    }

    /** A record's conversation: its bytes, and its entries once parsed. */
    private static final class Recorded {
        private final byte[] json;
        private final int offset;
        private final int length;
        private final String sessionId;
        private volatile List<ObjectNode> entries;
        /** How many entries the bytes hold once checked without parsing (-1: not checked). */
        private volatile int checkedEntries = -1;

        Recorded(byte[] json, int offset, int length, String sessionId) {
            this.json = json;
            this.offset = offset;
            this.length = length;
            this.sessionId = sessionId;
        }

        /** The parsed, frozen entries. */
        List<ObjectNode> entries() {
            List<ObjectNode> parsed = entries;
            if (parsed == null) {
                parsed = parse();
                entries = parsed;
            }
            return parsed;
        }

        /**
         * The number of entries, after every check a parse makes: from the parsed entries when
         * they were used, else from one pass over the bytes that builds nothing (a write of a state
         * whose conversation was not looked at copies the bytes and need not build its entries).
         */
        int checkedSize() {
            List<ObjectNode> parsed = entries;
            if (parsed != null) {
                return parsed.size();
            }
            int count = checkedEntries;
            if (count < 0) {
                count = check();
                checkedEntries = count;
            }
            return count;
        }

        /** One pass over the bytes with every check of {@link #parse}, building nothing: the entry count. */
        private int check() {
            return walk(parser -> {
                int count = 0;
                for (JsonToken token = parser.nextToken(); token != JsonToken.END_ARRAY; token = parser.nextToken()) {
                    if (token == null) {
                        throw corrupt("is not valid JSON", null);
                    }
                    if (token != JsonToken.START_OBJECT) {
                        throw corrupt("must be a list of JSON objects", null);
                    }
                    FrozenJson.check(parser, SessionJsonCodec.CONVERSATION_HISTORY, 1);
                    count++;
                }
                return count;
            });
        }

        private List<ObjectNode> parse() {
            return walk(parser -> {
                JsonNode array = FrozenJson.read(parser, SessionJsonCodec.CONVERSATION_HISTORY, 0);
                ObjectNode[] values = new ObjectNode[array.size()];
                for (int i = 0; i < values.length; i++) {
                    JsonNode element = array.get(i);
                    if (!element.isObject()) {
                        throw corrupt("must be a list of JSON objects", null);
                    }
                    values[i] = (ObjectNode) element;
                }
                return List.of(values);
            });
        }

        /**
         * Runs {@code body} with a parser at the array's start, then requires the end of the bytes;
         * any failure is a {@code MALFORMED} {@link CorruptSessionException} naming the field.
         */
        private <T> T walk(ArrayBody<T> body) {
            try (JsonParser parser = JsonSupport.FACTORY.createParser(json, offset, length)) {
                if (parser.nextToken() != JsonToken.START_ARRAY) {
                    throw corrupt("is not a JSON array", null);
                }
                T result = body.read(parser);
                if (parser.nextToken() != null) {
                    throw corrupt("has more JSON after its end", null);
                }
                return result;
            } catch (IllegalArgumentException e) {
                throw corrupt(e.getMessage(), e);
            } catch (IOException e) {
                throw corrupt("is not valid JSON", e);
            }
        }

        private CorruptSessionException corrupt(String problem, Throwable cause) {
            return new CorruptSessionException(null, sessionId, "invalid session record: field '"
                    + SessionJsonCodec.CONVERSATION_HISTORY + "' " + problem,
                    CorruptSessionException.Reason.MALFORMED, cause);
        }
    }

    /** What {@link Recorded#walk} runs over the array: from its start to its last token. */
    @FunctionalInterface
    private interface ArrayBody<T> {
        T read(JsonParser parser) throws IOException;
    }

    /** Bytes of JSON for {@link JsonGenerator#writeRawValue(SerializableString)}: UTF-8, unquoted. */
    private static final class RawJson implements SerializableString {
        private final byte[] json;
        private final int offset;
        private final int length;

        RawJson(byte[] json, int offset, int length) {
            this.json = json;
            this.offset = offset;
            this.length = length;
        }

        @Override
        public String getValue() {
            return new String(json, offset, length, java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public int charLength() {
            return getValue().length();
        }

        @Override
        public char[] asQuotedChars() {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public byte[] asUnquotedUTF8() {
            return java.util.Arrays.copyOfRange(json, offset, offset + length);
        }

        @Override
        public byte[] asQuotedUTF8() {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int appendQuotedUTF8(byte[] buffer, int offset) {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int appendQuoted(char[] buffer, int offset) {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int appendUnquotedUTF8(byte[] buffer, int at) {
            if (at + length > buffer.length) {
                return -1;
            }
            System.arraycopy(json, offset, buffer, at, length);
            return length;
        }

        @Override
        public int appendUnquoted(char[] buffer, int at) {
            String value = getValue();
            if (at + value.length() > buffer.length) {
                return -1;
            }
            value.getChars(0, value.length(), buffer, at);
            return value.length();
        }

        @Override
        public int writeQuotedUTF8(OutputStream out) {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int writeUnquotedUTF8(OutputStream out) throws IOException {
            out.write(json, offset, length);
            return length;
        }

        @Override
        public int putQuotedUTF8(ByteBuffer buffer) {
            throw new UnsupportedOperationException("raw JSON is not quoted");
        }

        @Override
        public int putUnquotedUTF8(ByteBuffer buffer) {
            if (length > buffer.remaining()) {
                return -1;
            }
            buffer.put(json, offset, length);
            return length;
        }
    }
}
