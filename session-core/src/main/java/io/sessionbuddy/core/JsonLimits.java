package io.sessionbuddy.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.Map;

/**
 * What a session's JSON may hold, checked when a value comes in, so that every write the library
 * acknowledges can be read back: the same limits the reader applies (Jackson's
 * {@code StreamReadConstraints}, set to these values in {@link JsonSupport}).
 *
 * <ul>
 *   <li>nesting at most {@value #MAX_DEPTH} levels inside one field;</li>
 *   <li>strings at most {@value #MAX_STRING_CHARS} characters, object keys at most
 *       {@value #MAX_NAME_CHARS};</li>
 *   <li>numbers at most {@value #MAX_NUMBER_CHARS} characters; no {@code NaN} or infinities (JSON
 *       has none: they are rejected rather than turned into strings);</li>
 *   <li>strings and keys are valid Unicode (no lone surrogate, which UTF-8 cannot encode).</li>
 * </ul>
 *
 * <p>Walks are iterative, so even a value nested far beyond the limit is rejected with an
 * {@link IllegalArgumentException}, never a {@link StackOverflowError}.
 */
final class JsonLimits {
    /** Levels of nesting a field's value may have (the record around it adds at most 3). */
    static final int MAX_DEPTH = 1000;
    /** The reader allows a few levels more than a value may have: the record itself nests. */
    static final int READ_MAX_DEPTH = MAX_DEPTH + 8;
    static final int MAX_STRING_CHARS = 20_000_000;
    static final int MAX_NAME_CHARS = 50_000;
    static final int MAX_NUMBER_CHARS = 1000;

    private JsonLimits() {
    }

    /** Checks a Jackson tree given for {@code field}, which starts at {@code rootDepth}. */
    private static void check(JsonNode root, String field, int rootDepth) {
        if (root == null) {
            return;
        }
        Deque<JsonNode> nodes = new ArrayDeque<>();
        Deque<Integer> depths = new ArrayDeque<>();
        nodes.push(root);
        depths.push(rootDepth);
        while (!nodes.isEmpty()) {
            JsonNode node = nodes.pop();
            int depth = depths.pop();
            if (node.isContainerNode()) {
                if (depth > MAX_DEPTH) {
                    throw tooDeep(field);
                }
                if (node.isObject()) {
                    for (Map.Entry<String, JsonNode> entry : node.properties()) {
                        checkName(entry.getKey(), field);
                        nodes.push(entry.getValue());
                        depths.push(depth + 1);
                    }
                } else {
                    for (JsonNode element : node) {
                        nodes.push(element);
                        depths.push(depth + 1);
                    }
                }
            } else if (node.isTextual()) {
                checkString(node.textValue(), field);
            } else if (node.isNumber()) {
                checkNumber(node.numberValue(), field);
            }
        }
    }

    /**
     * Checks plain Java values (maps, collections, arrays, strings, numbers) before Jackson turns
     * them into a tree: depth first, since Jackson's conversion is recursive.
     */
    static void checkValue(Object root, String field) {
        Deque<Object> values = new ArrayDeque<>();
        Deque<Integer> depths = new ArrayDeque<>();
        if (root != null) {
            values.push(root);
            depths.push(1);
        }
        while (!values.isEmpty()) {
            Object value = values.pop();
            int depth = depths.pop();
            if (value instanceof JsonNode node) {
                check(node, field, depth);
                continue;
            }
            if (value instanceof Map<?, ?> || value instanceof Collection<?> || (value != null && value.getClass().isArray()
                    && !(value instanceof byte[]))) {
                if (depth > MAX_DEPTH) {
                    throw tooDeep(field);
                }
            }
            if (value instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    if (entry.getKey() instanceof String name) {
                        checkName(name, field);
                    }
                    push(values, depths, entry.getValue(), depth + 1);
                }
            } else if (value instanceof Collection<?> collection) {
                for (Object element : collection) {
                    push(values, depths, element, depth + 1);
                }
            } else if (value != null && value.getClass().isArray() && !(value instanceof byte[])) {
                for (int i = 0, n = Array.getLength(value); i < n; i++) {
                    push(values, depths, Array.get(value, i), depth + 1);
                }
            } else if (value instanceof CharSequence text) {
                checkString(text.toString(), field);
            } else if (value instanceof Number number) {
                checkNumber(number, field);
            }
        }
    }

    private static void push(Deque<Object> values, Deque<Integer> depths, Object value, int depth) {
        if (value != null) {
            values.push(value);
            depths.push(depth);
        }
    }

    static IllegalArgumentException tooDeep(String field) {
        return new IllegalArgumentException(field + ": JSON nested deeper than " + MAX_DEPTH
                + " levels; a session value may nest at most " + MAX_DEPTH + " levels");
    }

    static void checkName(String name, String field) {
        if (name.length() > MAX_NAME_CHARS) {
            throw new IllegalArgumentException(field + ": an object key of " + name.length()
                    + " characters is longer than the limit of " + MAX_NAME_CHARS);
        }
        checkUnicode(name, field, "an object key");
    }

    /** Checks one string value (length, valid Unicode). */
    static void checkString(String text, String field) {
        if (text.length() > MAX_STRING_CHARS) {
            throw new IllegalArgumentException(field + ": a string of " + text.length()
                    + " characters is longer than the limit of " + MAX_STRING_CHARS);
        }
        checkUnicode(text, field, "a string");
    }

    /** Throws when {@code text} has a lone surrogate (not valid Unicode, cannot be UTF-8). */
    static void checkUnicode(String text, String field, String what) {
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                    continue;
                }
                throw loneSurrogate(field, what, i);
            }
            if (Character.isLowSurrogate(c)) {
                throw loneSurrogate(field, what, i);
            }
        }
    }

    private static IllegalArgumentException loneSurrogate(String field, String what, int index) {
        return new IllegalArgumentException(field + ": " + what + " holds a lone UTF-16 surrogate at index " + index
                + " (not valid Unicode, cannot be stored as UTF-8)");
    }

    static void checkNumber(Number number, String field) {
        if ((number instanceof Double d && (d.isNaN() || d.isInfinite()))
                || (number instanceof Float f && (f.isNaN() || f.isInfinite()))) {
            throw new IllegalArgumentException(field + ": " + number
                    + " is not a JSON number (JSON has no NaN or infinity); store it as a string if it is needed");
        }
        int length = number instanceof BigInteger big ? big.toString().length()
                : number instanceof BigDecimal big ? big.toString().length() : 0;
        if (length > MAX_NUMBER_CHARS) {
            throw new IllegalArgumentException(field + ": a number of " + length
                    + " characters is longer than the limit of " + MAX_NUMBER_CHARS);
        }
    }
}
