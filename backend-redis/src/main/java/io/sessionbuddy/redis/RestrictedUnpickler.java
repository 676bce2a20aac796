package io.sessionbuddy.redis;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads Python pickles (protocols 2 to 5) that hold only what a JSON document can hold: dicts with
 * string keys, lists, strings, integers of any size, floats, booleans and {@code None}. It is not an
 * unpickler in Python's sense: it never looks up, loads or instantiates anything. Every opcode that
 * refers to a class or function ({@code GLOBAL}, {@code STACK_GLOBAL}, {@code REDUCE}, {@code BUILD},
 * {@code INST}, {@code OBJ}, {@code NEWOBJ}, the extension registry, persistent ids) and every value
 * outside JSON (tuples, bytes, sets) is refused with a {@link Refused} that names it and its offset.
 *
 * <p>Bounds: the input is read once, lengths are checked against what is left before anything is
 * allocated, nesting is limited to {@link #MAX_DEPTH}, and the JSON written is limited to a given
 * number of bytes, so that memo references (one small record naming one large value many times)
 * cannot expand without bound. Cycles (a list that contains itself) are refused by the depth limit.
 *
 * <p>Used by the {@code legacy-acb} reader: the seed's ACB storage stored
 * {@code pickle.dumps(state.model_dump(mode="json"))} through aiocache's {@code PickleSerializer}.
 */
final class RestrictedUnpickler {
    /** The deepest nesting of dicts and lists accepted (Jackson's default read limit is 1,000). */
    static final int MAX_DEPTH = 500;
    /** The longest LONG1/LONG4 integer read: 1,000 decimal digits need at most 416 bytes. */
    static final int MAX_INTEGER_BYTES = 416;

    /** A pickle this reader does not accept, with the reason. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    /** The value of Python's {@code None} on the stack and in the results. */
    static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    private static final Object MARK = new Object();
    private static final com.fasterxml.jackson.core.JsonFactory JSON = new com.fasterxml.jackson.core.JsonFactory();

    private final byte[] data;
    private int pos;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final List<Object> memo = new ArrayList<>();

    private RestrictedUnpickler(byte[] data) {
        this.data = data;
    }

    /** Whether {@code data} starts like a pickle of protocol 2 or later ({@code PROTO n}). */
    static boolean looksLikePickle(byte[] data) {
        return data.length >= 3 && (data[0] & 0xff) == 0x80 && data[1] >= 2 && data[1] <= 5;
    }

    /**
     * Reads one pickle into plain Java values: {@link Map} (insertion order), {@link List},
     * {@link String}, {@link Long} or {@link BigInteger}, {@link Double}, {@link Boolean} and
     * {@link #NONE}. Values referenced twice through the memo are the same Java object.
     *
     * @throws Refused when the bytes are not such a pickle, with what and where
     */
    static Object load(byte[] data) throws Refused {
        return new RestrictedUnpickler(data).run();
    }

    /**
     * Reads one pickle and writes it as JSON: {@code NaN} and the infinities as {@code null} (what
     * this library reads for the original's {@code json.dumps} output), integers exactly.
     *
     * @param maxJsonBytes the most JSON bytes written before the record is refused
     * @throws Refused when the bytes are not such a pickle or the JSON would be larger
     */
    static byte[] toJson(byte[] data, int maxJsonBytes) throws Refused {
        Object value = load(data);
        BoundedBytes out = new BoundedBytes(maxJsonBytes);
        try (JsonGenerator json = JSON.createGenerator((OutputStream) out)) {
            write(json, value, 0);
        } catch (BoundedBytes.Full e) {
            throw new Refused("its JSON form is over " + maxJsonBytes + " bytes (memo references can repeat one value"
                    + " many times)");
        } catch (IOException e) {
            throw new Refused("cannot write its JSON form: " + e.getMessage());
        }
        return out.toByteArray();
    }

    private static void write(JsonGenerator json, Object value, int depth) throws IOException, Refused {
        if (depth > MAX_DEPTH) {
            throw new Refused("nested deeper than " + MAX_DEPTH + " levels, or a list or dict that contains itself");
        }
        if (value instanceof Map<?, ?> map) {
            json.writeStartObject();
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                json.writeFieldName((String) entry.getKey());
                write(json, entry.getValue(), depth + 1);
            }
            json.writeEndObject();
        } else if (value instanceof List<?> list) {
            json.writeStartArray();
            for (Object item : list) {
                write(json, item, depth + 1);
            }
            json.writeEndArray();
        } else if (value instanceof String text) {
            json.writeString(text);
        } else if (value instanceof Long number) {
            json.writeNumber(number);
        } else if (value instanceof BigInteger number) {
            json.writeNumber(number);
        } else if (value instanceof Double number) {
            if (number.isNaN() || number.isInfinite()) {
                json.writeNull();
            } else {
                json.writeNumber(number);
            }
        } else if (value instanceof Boolean flag) {
            json.writeBoolean(flag);
        } else {
            json.writeNull();
        }
    }

    private Object run() throws Refused {
        if (!looksLikePickle(data)) {
            throw new Refused("not a pickle of protocol 2 to 5 (starts with 0x"
                    + HexFormat.of().formatHex(data, 0, Math.min(4, data.length)) + ")");
        }
        while (pos < data.length) {
            int at = pos;
            int op = data[pos++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int protocol = u8();
                    if (protocol < 2 || protocol > 5) {
                        throw new Refused("pickle protocol " + protocol + " at offset " + at + " (2 to 5 are read)");
                    }
                }
                case 0x95 -> skip(8, at); // FRAME: a length hint, the bytes follow inline
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw new Refused("malformed pickle: STOP at offset " + at + " with " + stack.size()
                                + " values on the stack");
                    }
                    if (pos != data.length) {
                        throw new Refused((data.length - pos) + " bytes after the pickle's end at offset " + at);
                    }
                    return stack.get(0);
                }
                case '}' -> stack.add(new LinkedHashMap<String, Object>()); // EMPTY_DICT
                case ']' -> stack.add(new ArrayList<>()); // EMPTY_LIST
                case '(' -> { // MARK
                    marks.add(stack.size());
                    stack.add(MARK);
                }
                case 's' -> { // SETITEM
                    Object value = pop(at);
                    Object key = pop(at);
                    put(dictAt(stack.size() - 1, at), key, value, at);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark(at);
                    if (items.size() % 2 != 0) {
                        throw new Refused("malformed pickle: SETITEMS with an odd number of values at offset " + at);
                    }
                    Map<String, Object> dict = dictAt(stack.size() - 1, at);
                    for (int i = 0; i < items.size(); i += 2) {
                        put(dict, items.get(i), items.get(i + 1), at);
                    }
                }
                case 'a' -> { // APPEND
                    Object value = pop(at);
                    listAt(stack.size() - 1, at).add(value);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark(at);
                    listAt(stack.size() - 1, at).addAll(items);
                }
                case 'X' -> stack.add(utf8(length(4, at), at)); // BINUNICODE
                case 0x8c -> stack.add(utf8(length(1, at), at)); // SHORT_BINUNICODE
                case 0x8d -> stack.add(utf8(length(8, at), at)); // BINUNICODE8
                case 'K' -> stack.add((long) u8()); // BININT1
                case 'M' -> stack.add((long) (u8() | (u8() << 8))); // BININT2
                case 'J' -> stack.add((long) (int) littleEndian(4, at)); // BININT
                case 0x8a -> stack.add(longValue(length(1, at), at)); // LONG1
                case 0x8b -> stack.add(longValue(length(4, at), at)); // LONG4
                case 'G' -> stack.add(Double.longBitsToDouble(bigEndian8(at))); // BINFLOAT
                case 'N' -> stack.add(NONE);
                case 0x88 -> stack.add(true); // NEWTRUE
                case 0x89 -> stack.add(false); // NEWFALSE
                case 0x94 -> memo.add(top(at)); // MEMOIZE
                case 'q' -> memoPut(u8(), at); // BINPUT
                case 'r' -> memoPut(length(4, at), at); // LONG_BINPUT
                case 'h' -> stack.add(memoGet(u8(), at)); // BINGET
                case 'j' -> stack.add(memoGet(length(4, at), at)); // LONG_BINGET
                case '0' -> pop(at); // POP
                case '1' -> popMark(at); // POP_MARK
                case '2' -> stack.add(top(at)); // DUP
                case 'c', 0x93 -> throw refusal(at, op == 'c' ? "GLOBAL" : "STACK_GLOBAL",
                        "a reference to a class or function (never looked up or instantiated)");
                case 'R', 'b', 'i', 'o', 0x81, 0x92 -> throw refusal(at, objectOpcode(op),
                        "builds an object by calling a class or function (never done here)");
                case 0x82, 0x83, 0x84 -> throw refusal(at, "EXT" + (op == 0x82 ? 1 : op == 0x83 ? 2 : 4),
                        "a reference through the extension registry");
                case 'P', 'Q' -> throw refusal(at, op == 'P' ? "PERSID" : "BINPERSID", "a persistent id");
                case ')', 't', 0x85, 0x86, 0x87 -> throw refusal(at, "TUPLE", "a tuple: not a JSON value");
                case 'B', 'C', 0x8e, 0x96, 'T', 'U', 0x97, 0x98 -> throw refusal(at, "BYTES",
                        "bytes: not a JSON value");
                case 0x8f, 0x90, 0x91 -> throw refusal(at, "SET", "a set: not a JSON value");
                default -> throw new Refused("pickle opcode 0x" + Integer.toHexString(op) + " at offset " + at
                        + " is not read here (protocol 0/1 text opcodes and unknown opcodes are refused)");
            }
        }
        throw new Refused("truncated pickle: no STOP after " + data.length + " bytes");
    }

    private static String objectOpcode(int op) {
        return switch (op) {
            case 'R' -> "REDUCE";
            case 'b' -> "BUILD";
            case 'i' -> "INST";
            case 'o' -> "OBJ";
            case 0x81 -> "NEWOBJ";
            default -> "NEWOBJ_EX";
        };
    }

    private static Refused refusal(int at, String opcode, String what) {
        return new Refused("refused pickle opcode " + opcode + " at offset " + at + ": " + what
                + "; only dicts, lists, strings, numbers, booleans and None are read");
    }

    private int u8() throws Refused {
        if (pos >= data.length) {
            throw new Refused("truncated pickle at offset " + pos);
        }
        return data[pos++] & 0xff;
    }

    private long littleEndian(int bytes, int at) throws Refused {
        if (data.length - pos < bytes) {
            throw new Refused("truncated pickle: opcode at offset " + at + " needs " + bytes + " more bytes");
        }
        long value = 0;
        for (int i = bytes - 1; i >= 0; i--) {
            value = (value << 8) | (data[pos + i] & 0xff);
        }
        pos += bytes;
        return value;
    }

    private long bigEndian8(int at) throws Refused {
        if (data.length - pos < 8) {
            throw new Refused("truncated pickle: opcode at offset " + at + " needs 8 more bytes");
        }
        long value = 0;
        for (int i = 0; i < 8; i++) {
            value = (value << 8) | (data[pos + i] & 0xff);
        }
        pos += 8;
        return value;
    }

    /** An unsigned length or index of {@code bytes} bytes, which must fit what is left of the input. */
    private int length(int bytes, int at) throws Refused {
        long value = littleEndian(bytes, at);
        if (value < 0 || value > data.length) {
            throw new Refused("malformed pickle: length " + Long.toUnsignedString(value) + " at offset " + at
                    + " is beyond the record's " + data.length + " bytes");
        }
        return (int) value;
    }

    private void skip(int bytes, int at) throws Refused {
        littleEndian(bytes, at);
    }

    private String utf8(int length, int at) throws Refused {
        if (data.length - pos < length) {
            throw new Refused("truncated pickle: a string of " + length + " bytes at offset " + at);
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(data, pos, length)).toString();
            pos += length;
            return text;
        } catch (CharacterCodingException e) {
            // Python writes lone surrogates with surrogatepass; JSON cannot carry them either
            throw new Refused("a string at offset " + at + " is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }

    /** A two's-complement little-endian integer of {@code length} bytes (LONG1, LONG4). */
    private Object longValue(int length, int at) throws Refused {
        if (data.length - pos < length) {
            throw new Refused("truncated pickle: an integer of " + length + " bytes at offset " + at);
        }
        if (length == 0) {
            return 0L;
        }
        if (length > MAX_INTEGER_BYTES) {
            // a session's numbers have at most 1,000 digits; converting a far larger one to decimal
            // would take time quadratic in its length
            throw new Refused("an integer of " + length + " bytes at offset " + at + " (more than 1,000 digits)");
        }
        byte[] bigEndian = new byte[length];
        for (int i = 0; i < length; i++) {
            bigEndian[i] = data[pos + length - 1 - i];
        }
        pos += length;
        BigInteger value = new BigInteger(bigEndian);
        return value.bitLength() < 64 ? (Object) value.longValue() : value;
    }

    private Object pop(int at) throws Refused {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
            throw new Refused("malformed pickle: the stack is empty at offset " + at);
        }
        return stack.remove(stack.size() - 1);
    }

    private Object top(int at) throws Refused {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
            throw new Refused("malformed pickle: the stack is empty at offset " + at);
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark(int at) throws Refused {
        if (marks.isEmpty()) {
            throw new Refused("malformed pickle: no MARK before offset " + at);
        }
        int mark = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(mark + 1, stack.size()));
        stack.subList(mark, stack.size()).clear();
        return items;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> dictAt(int index, int at) throws Refused {
        if (index < 0 || !(stack.get(index) instanceof Map)) {
            throw new Refused("malformed pickle: SETITEM(S) at offset " + at + " without a dict");
        }
        return (Map<String, Object>) stack.get(index);
    }

    @SuppressWarnings("unchecked")
    private List<Object> listAt(int index, int at) throws Refused {
        if (index < 0 || !(stack.get(index) instanceof List)) {
            throw new Refused("malformed pickle: APPEND(S) at offset " + at + " without a list");
        }
        return (List<Object>) stack.get(index);
    }

    /** Dict keys as {@code json.dumps} writes them: strings as they are, integers in decimal. */
    private static void put(Map<String, Object> dict, Object key, Object value, int at) throws Refused {
        String name;
        if (key instanceof String text) {
            name = text;
        } else if (key instanceof Long || key instanceof BigInteger) {
            name = key.toString();
        } else {
            throw new Refused("a dict key at offset " + at + " is " + (key instanceof Map ? "a dict"
                    : key instanceof List ? "a list" : String.valueOf(key)) + ", not a string: not a JSON object");
        }
        dict.put(name, value);
    }

    private void memoPut(int index, int at) throws Refused {
        Object value = top(at);
        if (index == memo.size()) {
            memo.add(value);
        } else if (index < memo.size()) {
            memo.set(index, value);
        } else {
            // Python's pickler numbers memo entries densely; a gap would make us allocate up to the index
            throw new Refused("malformed pickle: memo index " + index + " at offset " + at + " skips entries");
        }
    }

    private Object memoGet(int index, int at) throws Refused {
        if (index >= memo.size()) {
            throw new Refused("malformed pickle: memo index " + index + " at offset " + at + " was never set");
        }
        return memo.get(index);
    }

    /** A byte buffer that stops at a limit: bounds the JSON a memo-expanding pickle can produce. */
    private static final class BoundedBytes extends ByteArrayOutputStream {
        private final int limit;

        BoundedBytes(int limit) {
            this.limit = limit;
        }

        @Override
        public synchronized void write(int b) {
            if (count + 1 > limit) {
                throw new Full();
            }
            super.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            if ((long) count + len > limit) {
                throw new Full();
            }
            super.write(b, off, len);
        }

        /** Thrown through Jackson's generator when the limit is reached. */
        static final class Full extends RuntimeException {
            private static final long serialVersionUID = 1L;

            Full() {
                super("full", null, false, false);
            }
        }
    }
}
