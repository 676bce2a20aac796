package io.sessionbuddy.core;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * Read-only Jackson trees: what a {@link SessionState} holds and hands out, so that reading a
 * field costs nothing and a changed state shares every part it did not change.
 *
 * <p>A frozen object or array is a plain {@link ObjectNode}/{@link ArrayNode} to its reader
 * (every read method works, it serialises and compares as usual) whose children live in an
 * unmodifiable map or list: every mutator ({@code put}, {@code set}, {@code remove},
 * {@code add}, ...) throws {@link UnsupportedOperationException}, and so do mutations through
 * {@code properties()}, iterators and nested nodes, which are frozen too. {@code deepCopy()}
 * returns an ordinary, editable tree.
 *
 * <p>Freezing is the one place a caller's tree is copied and checked against {@link JsonLimits}.
 * A subtree that is already frozen was checked when it was frozen and is shared, not walked: each
 * frozen container remembers its height, so the depth limit still holds wherever it is put.
 */
final class FrozenJson {
    private static final org.slf4j.Logger LEGACY_LOG = org.slf4j.LoggerFactory.getLogger(FrozenJson.class);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Objects of at most this many fields keep them in one array (looked up by a scan). */
    private static final int SMALL = 8;
    private static final Object[] NO_ITEMS = {};

    /** The empty frozen object, shared by every state that has one. */
    static final ObjectNode EMPTY_OBJECT = new FrozenObject(Collections.emptyMap(), 1);

    private FrozenJson() {
    }

    /** Whether {@code node} is frozen (or a scalar, which is immutable anyway). */
    static boolean isFrozen(JsonNode node) {
        return node instanceof FrozenObject || node instanceof FrozenArray || !node.isContainerNode();
    }

    /**
     * {@code root} frozen: itself when already frozen, else a checked, frozen copy.
     *
     * @return the frozen object; the shared empty object for {@code null} or an empty object
     * @throws IllegalArgumentException when a value breaks a {@link JsonLimits} limit
     */
    static ObjectNode freeze(ObjectNode root, String field) {
        if (root == null || root.isEmpty()) {
            return EMPTY_OBJECT;
        }
        return (ObjectNode) freezeNode(root, field);
    }

    /** Any JSON value frozen (containers copied unless already frozen, scalars checked). */
    static JsonNode freezeNode(JsonNode root, String field) {
        if (root instanceof FrozenObject || root instanceof FrozenArray) {
            return root;
        }
        if (!root.isContainerNode()) {
            return checkedScalar(root, field);
        }
        Builder top = new Builder(root, 1, null);
        while (true) {
            if (top.hasNext()) {
                String key = top.nextKey();
                JsonNode value = top.nextValue();
                if (key != null) {
                    JsonLimits.checkName(key, field);
                }
                int height = height(value);
                if (height > 0 && isFrozen(value)) {
                    if (top.depth + height > JsonLimits.MAX_DEPTH) {
                        throw JsonLimits.tooDeep(field);
                    }
                    top.add(key, value, height);
                } else if (height < 0) {
                    if (top.depth + 1 > JsonLimits.MAX_DEPTH) {
                        throw JsonLimits.tooDeep(field);
                    }
                    top = new Builder(value, top.depth + 1, key).under(top);
                } else {
                    top.add(key, checkedScalar(value, field), 0);
                }
            } else {
                JsonNode built = top.build();
                if (top.parent == null) {
                    return built;
                }
                top = top.parent.add(top.key, built, top.height);
            }
        }
    }

    /**
     * Reads the JSON value at the parser's current token into a frozen tree, checked against the
     * limits as it is read (no second walk); the parser is left on the value's last token.
     *
     * @param rootDepth the depth the value counts as (1; 0 for a list whose entries are each
     *     checked as a field of their own, as {@code conversation_history})
     * @throws IllegalArgumentException when a value breaks a {@link JsonLimits} limit
     */
    static JsonNode read(JsonParser parser, String field, int rootDepth) throws IOException {
        JsonToken token = parser.currentToken();
        if (token != JsonToken.START_OBJECT && token != JsonToken.START_ARRAY) {
            return readScalar(parser, token, field);
        }
        Builder top = new Builder(token == JsonToken.START_OBJECT, rootDepth, null);
        while (true) {
            token = parser.nextToken();
            String key = null;
            if (token == JsonToken.FIELD_NAME) {
                key = parser.currentName();
                JsonLimits.checkName(key, field);
                token = parser.nextToken();
            }
            if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
                JsonNode built = top.build();
                if (top.parent == null) {
                    return built;
                }
                top = top.parent.add(top.key, built, top.height);
            } else if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
                if (top.depth + 1 > JsonLimits.MAX_DEPTH) {
                    throw JsonLimits.tooDeep(field);
                }
                top = new Builder(token == JsonToken.START_OBJECT, top.depth + 1, key).under(top);
            } else if (token == null) {
                throw new IllegalArgumentException(field + ": the JSON ends inside a value");
            } else {
                top.add(key, readScalar(parser, token, field), 0);
            }
        }
    }

    /**
     * Walks the value the parser is at with every check of {@link #read} (object keys, strings,
     * numbers, depth) but builds no containers: for JSON that is copied as it is once known to be
     * readable. The parser is left at the value's last token.
     */
    static void check(JsonParser parser, String field, int rootDepth) throws IOException {
        JsonToken token = parser.currentToken();
        if (token != JsonToken.START_OBJECT && token != JsonToken.START_ARRAY) {
            readScalar(parser, token, field);
            return;
        }
        int open = 1; // containers open; the innermost is at depth rootDepth + open - 1
        while (true) {
            token = parser.nextToken();
            if (token == JsonToken.FIELD_NAME) {
                JsonLimits.checkName(parser.currentName(), field);
                token = parser.nextToken();
            }
            if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
                if (--open == 0) {
                    return;
                }
            } else if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
                if (rootDepth + open > JsonLimits.MAX_DEPTH) {
                    throw JsonLimits.tooDeep(field);
                }
                open++;
            } else if (token == null) {
                throw new IllegalArgumentException(field + ": the JSON ends inside a value");
            } else {
                readScalar(parser, token, field);
            }
        }
    }

    private static JsonNode readScalar(JsonParser parser, JsonToken token, String field) throws IOException {
        switch (token) {
            case VALUE_STRING -> {
                String text = parser.getText();
                JsonLimits.checkString(text, field);
                return TextNode.valueOf(text);
            }
            case VALUE_NUMBER_INT -> {
                return switch (parser.getNumberType()) {
                    case INT -> IntNode.valueOf(parser.getIntValue());
                    case LONG -> LongNode.valueOf(parser.getLongValue());
                    default -> BigIntegerNode.valueOf(parser.getBigIntegerValue());
                };
            }
            case VALUE_NUMBER_FLOAT -> {
                double value = parser.getDoubleValue();
                if (Double.isNaN(value) || Double.isInfinite(value)) {
                    if (parser.isEnabled(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS
                            .mappedFeature()) && parser.isNaN()) {
                        // a record of the original store: Python's json.dumps writes NaN and Infinity
                        LEGACY_LOG.warn("{}: {} read as null (JSON has no such number, and this library refuses"
                                + " them on write)", field, parser.getText());
                        return NullNode.getInstance();
                    }
                    throw new IllegalArgumentException(field + ": a number out of the range of a double");
                }
                return DoubleNode.valueOf(value);
            }
            case VALUE_TRUE -> {
                return BooleanNode.TRUE;
            }
            case VALUE_FALSE -> {
                return BooleanNode.FALSE;
            }
            case VALUE_NULL -> {
                return NullNode.getInstance();
            }
            default -> throw new IllegalArgumentException(field + ": unexpected JSON token " + token);
        }
    }

    /** 0 for a scalar; 1 + the tallest child for a container (frozen containers know theirs). */
    private static int height(JsonNode node) {
        if (node instanceof FrozenObject object) {
            return object.height;
        }
        if (node instanceof FrozenArray array) {
            return array.height;
        }
        return node.isContainerNode() ? -1 : 0; // -1: not known, walked when frozen
    }

    private static JsonNode checkedScalar(JsonNode value, String field) {
        if (value.isPojo()) {
            throw new IllegalArgumentException(field + ": holds a Java object, not JSON");
        }
        if (value.isBinary()) {
            // what the record will hold anyway (Jackson writes binary as base64 text)
            return TextNode.valueOf(value.asText());
        }
        if (value.isMissingNode()) {
            throw new IllegalArgumentException(field + ": holds a missing node, not a JSON value");
        }
        if (value.isTextual()) {
            JsonLimits.checkString(value.textValue(), field);
        } else if (value.isNumber()) {
            JsonLimits.checkNumber(value.numberValue(), field);
        }
        return value;
    }

    /** A container being frozen: its source (or none when read from a parser) and its children. */
    private static final class Builder {
        final int depth;
        final String key;
        final boolean object;
        int height = 1;
        private Iterator<Map.Entry<String, JsonNode>> fields;
        private Iterator<JsonNode> elements;
        private Map.Entry<String, JsonNode> field;
        /**
         * An object's keys and values alternating, or an array's elements: one array that becomes
         * the node's own when it is full (no list wrappers, no copy for most small objects).
         */
        private Object[] items = NO_ITEMS;
        private int size;
        /** The container this one is a value of, while it is being read (the open containers' chain). */
        Builder parent;

        Builder(JsonNode source, int depth, String key) {
            this(source.isObject(), depth, key);
            if (object) {
                fields = source.properties().iterator();
            } else {
                elements = source.elements();
            }
        }

        Builder(boolean object, int depth, String key) {
            this.object = object;
            this.depth = depth;
            this.key = key;
        }

        Builder under(Builder container) {
            parent = container;
            return this;
        }

        boolean hasNext() {
            return object ? fields.hasNext() : elements.hasNext();
        }

        String nextKey() {
            if (object) {
                field = fields.next();
                return field.getKey();
            }
            return null;
        }

        JsonNode nextValue() {
            return object ? field.getValue() : elements.next();
        }

        Builder add(String name, JsonNode value, int childHeight) {
            if (object) {
                int existing = size <= 2 * SMALL ? indexOfKey(name) : -1;
                if (existing >= 0) {
                    items[existing + 1] = value; // a repeated key: the last one wins, as in Jackson
                } else {
                    room(2);
                    items[size++] = name;
                    items[size++] = value;
                }
            } else {
                room(1);
                items[size++] = value;
            }
            height = Math.max(height, childHeight + 1);
            return this;
        }

        private int indexOfKey(String name) {
            for (int i = 0; i < size; i += 2) {
                if (items[i].equals(name)) {
                    return i;
                }
            }
            return -1;
        }

        private void room(int more) {
            if (size + more > items.length) {
                items = Arrays.copyOf(items, Math.max(object ? 8 : 4, items.length * 2));
            }
        }

        /** The items, in an array of exactly their number (the builder's own when it is full). */
        private Object[] exactItems() {
            return size == items.length ? items : Arrays.copyOf(items, size);
        }

        JsonNode build() {
            if (!object) {
                if (size == 0) {
                    return new FrozenArray(List.of(), height);
                }
                @SuppressWarnings("unchecked") // holds JsonNodes only
                List<JsonNode> elements = (List<JsonNode>) (List<?>) Collections.unmodifiableList(
                        Arrays.asList(exactItems()));
                return new FrozenArray(elements, height);
            }
            if (size == 0) {
                return EMPTY_OBJECT;
            }
            if (size <= 2 * SMALL) {
                return new FrozenObject(new SmallMap(exactItems()), height);
            }
            Map<String, JsonNode> map = new LinkedHashMap<>((int) (size / 1.5f) + 1); // size / 2 entries at 0.75
            for (int i = 0; i < size; i += 2) {
                map.put((String) items[i], (JsonNode) items[i + 1]); // a repeated key: the last one wins
            }
            return new FrozenObject(Collections.unmodifiableMap(map), height);
        }
    }

    /** A frozen object; see the class description. */
    // Jackson's ObjectNode.deepCopy() overrides the generic JsonNode.deepCopy() unchecked: not ours
    @SuppressWarnings("unchecked")
    static final class FrozenObject extends ObjectNode {
        private static final long serialVersionUID = 1L;
        final int height;

        FrozenObject(Map<String, JsonNode> children, int height) {
            super(NODES, children);
            this.height = height;
        }
    }

    /** A frozen array; see the class description. */
    @SuppressWarnings("unchecked") // as for FrozenObject
    static final class FrozenArray extends ArrayNode {
        private static final long serialVersionUID = 1L;
        final int height;

        FrozenArray(List<JsonNode> children, int height) {
            super(NODES, children);
            this.height = height;
        }
    }

    /**
     * An unmodifiable, insertion-ordered map in one array of alternating keys and values, for the
     * many small objects of a session (one array, not two: 32 bytes less per object).
     */
    private static final class SmallMap extends AbstractMap<String, JsonNode> {
        private final Object[] keysAndValues;

        /** Takes {@code keysAndValues} (keys at even places, values after them) as it is, unshared. */
        SmallMap(Object[] keysAndValues) {
            this.keysAndValues = keysAndValues;
        }

        @Override
        public int size() {
            return keysAndValues.length / 2;
        }

        @Override
        public JsonNode get(Object key) {
            for (int i = 0; i < keysAndValues.length; i += 2) {
                if (keysAndValues[i].equals(key)) {
                    return (JsonNode) keysAndValues[i + 1];
                }
            }
            return null;
        }

        @Override
        public boolean containsKey(Object key) {
            return get(key) != null;
        }

        @Override
        public Set<Map.Entry<String, JsonNode>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public int size() {
                    return keysAndValues.length / 2;
                }

                @Override
                public Iterator<Map.Entry<String, JsonNode>> iterator() {
                    return new Iterator<>() {
                        private int next;

                        @Override
                        public boolean hasNext() {
                            return next < keysAndValues.length;
                        }

                        @Override
                        public Map.Entry<String, JsonNode> next() {
                            if (next >= keysAndValues.length) {
                                throw new NoSuchElementException();
                            }
                            int i = next;
                            next += 2;
                            return new AbstractMap.SimpleImmutableEntry<>((String) keysAndValues[i],
                                    (JsonNode) keysAndValues[i + 1]);
                        }
                    };
                }
            };
        }
    }
}
