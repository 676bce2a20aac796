package io.sessionbuddy.core;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Map;

/** Jackson in core: plain JSON, streaming and trees, no default typing, no polymorphic type handling. */
final class JsonSupport {
    /** The oldest Jackson this library is built and tested against. */
    static final int REQUIRED_MINOR = 23;

    static {
        // Before anything below touches a Jackson class a downgraded Jackson may lack.
        checkJacksonVersion(jacksonVersion(true), jacksonVersion(false));
    }

    /**
     * The version of jackson-databind or jackson-core on the classpath: from its jar's manifest
     * ({@code Implementation-Version}, which the class loader read when it defined the package), else
     * from Jackson's {@code PackageVersion} (whose parsing compiles a regular expression, which a
     * start otherwise never needs).
     */
    static com.fasterxml.jackson.core.Version jacksonVersion(boolean databind) {
        Package jacksonPackage = (databind ? JsonNode.class : JsonFactory.class).getPackage();
        com.fasterxml.jackson.core.Version found = jacksonPackage == null ? null
                : manifestVersion(jacksonPackage.getImplementationTitle(), jacksonPackage.getImplementationVendor(),
                        jacksonPackage.getImplementationVersion(), databind);
        if (found != null) {
            return found;
        }
        return databind ? com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION
                : com.fasterxml.jackson.core.json.PackageVersion.VERSION;
    }

    /**
     * The version a package's manifest attributes give, or {@code null} when they are not Jackson's
     * own: in a shaded (uber) jar the manifest is the application's, and its version says nothing
     * about Jackson.
     */
    static com.fasterxml.jackson.core.Version manifestVersion(String title, String vendor, String version,
            boolean databind) {
        String artifact = databind ? "jackson-databind" : "jackson-core";
        if (version == null || !artifact.equalsIgnoreCase(title) || !"FasterXML".equals(vendor)) {
            return null;
        }
        int[] numbers = new int[3];
        int part = 0;
        int i = 0;
        while (part < 3) {
            int start = i;
            while (i < version.length() && version.charAt(i) >= '0' && version.charAt(i) <= '9' && i - start < 9) {
                numbers[part] = numbers[part] * 10 + (version.charAt(i++) - '0');
            }
            if (i == start) {
                break;
            }
            part++;
            if (i >= version.length() || version.charAt(i) != '.') {
                break;
            }
            i++;
        }
        return part < 2 ? null : new com.fasterxml.jackson.core.Version(numbers[0], numbers[1], numbers[2], null,
                "com.fasterxml.jackson.core", artifact);
    }

    /**
     * The JSON factory of core: streaming only, so that a start needs no {@code ObjectMapper} (its
     * set-up and introspection were the largest block of the library's start-up; see the README,
     * "Cold start"). Parse errors quote no part of the record: it may be a plaintext session.
     */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxNestingDepth(JsonLimits.READ_MAX_DEPTH)
                    .maxStringLength(JsonLimits.MAX_STRING_CHARS)
                    .maxNameLength(JsonLimits.MAX_NAME_CHARS)
                    .maxNumberLength(JsonLimits.MAX_NUMBER_CHARS)
                    .build())
            .streamWriteConstraints(com.fasterxml.jackson.core.StreamWriteConstraints.builder()
                    .maxNestingDepth(JsonLimits.READ_MAX_DEPTH)
                    .build())
            .errorReportConfiguration(com.fasterxml.jackson.core.ErrorReportConfiguration.builder()
                    .maxErrorTokenLength(0).maxRawContentLength(0).build())
            .disable(com.fasterxml.jackson.core.StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            // Jackson's own FastDoubleParser: the same correctly rounded doubles as Double.parseDouble,
            // without the String and char[] copies it makes of each number (a read's largest
            // allocation when a session holds decimals)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.USE_FAST_DOUBLE_PARSER)
            .build();

    /**
     * The factory for the original store's records: also reads {@code NaN} and {@code Infinity}
     * (Python's {@code json.dumps} writes them), which become {@code null}.
     */
    static final JsonFactory LEGACY_FACTORY = FACTORY.rebuild()
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    /** Tree nodes. */
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private JsonSupport() {
    }

    /**
     * An {@code ObjectMapper} for what the streaming code does not handle itself (a value of a type
     * other than maps, collections, strings, numbers and booleans: a bean, an enum, a byte array),
     * made on first use only.
     */
    private static final class Mapper {
        static final ObjectMapper INSTANCE = JsonMapper.builder(FACTORY).build();
    }

    static ObjectNode toObjectNode(Map<String, ?> value, String field) {
        return value == null ? NODES.objectNode() : (ObjectNode) toNode(value, field);
    }

    /** Any JSON-compatible Java value (or a {@link JsonNode}, returned as it is) as a tree. */
    static JsonNode toNode(Object value, String field) {
        if (value instanceof JsonNode node) {
            return node;
        }
        if (value == null) {
            return NullNode.getInstance();
        }
        JsonLimits.checkValue(value, field);
        try {
            return convert(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": value is not JSON-compatible: " + e.getMessage(), e);
        }
    }

    /**
     * The tree of a value, as {@code ObjectMapper.valueToTree} makes it (the same node types), without
     * an {@code ObjectMapper} for the usual JSON-shaped values; nesting was checked by the caller.
     *
     * @throws IllegalArgumentException when Jackson cannot represent the value
     */
    static JsonNode convert(Object value) {
        if (value == null) {
            return NullNode.getInstance();
        }
        if (value instanceof JsonNode node) {
            return node;
        }
        if (value instanceof String text) {
            return NODES.textNode(text);
        }
        if (value instanceof Boolean flag) {
            return NODES.booleanNode(flag);
        }
        if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return NODES.numberNode(((Number) value).intValue());
        }
        if (value instanceof Long number) {
            return NODES.numberNode(number.longValue());
        }
        if (value instanceof Double number) {
            return NODES.numberNode(number.doubleValue());
        }
        if (value instanceof Map<?, ?> map && allStringKeys(map)) {
            ObjectNode object = NODES.objectNode();
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                object.set((String) entry.getKey(), convert(entry.getValue()));
            }
            return object;
        }
        if (value instanceof java.util.Collection<?> collection) {
            com.fasterxml.jackson.databind.node.ArrayNode array = NODES.arrayNode(collection.size());
            for (Object element : collection) {
                array.add(convert(element));
            }
            return array;
        }
        if (value instanceof Object[] elements) {
            com.fasterxml.jackson.databind.node.ArrayNode array = NODES.arrayNode(elements.length);
            for (Object element : elements) {
                array.add(convert(element));
            }
            return array;
        }
        return Mapper.INSTANCE.valueToTree(value); // BigDecimal, floats, beans, enums, other keys: Jackson's rules
    }

    private static boolean allStringKeys(Map<?, ?> map) {
        for (Object key : map.keySet()) {
            if (!(key instanceof String)) {
                return false;
            }
        }
        return true;
    }

    /** Writes a tree to a generator without an {@code ObjectCodec} (as {@code writeTree} would). */
    static void writeTree(JsonGenerator json, JsonNode node) throws IOException {
        switch (node.getNodeType()) {
            case OBJECT -> {
                json.writeStartObject();
                for (Map.Entry<String, JsonNode> field : node.properties()) {
                    json.writeFieldName(field.getKey());
                    writeTree(json, field.getValue());
                }
                json.writeEndObject();
            }
            case ARRAY -> {
                json.writeStartArray();
                for (JsonNode element : node) {
                    writeTree(json, element);
                }
                json.writeEndArray();
            }
            case STRING -> json.writeString(node.textValue());
            case NUMBER -> {
                switch (node.numberType()) {
                    case INT -> json.writeNumber(node.intValue());
                    case LONG -> json.writeNumber(node.longValue());
                    case BIG_INTEGER -> json.writeNumber(node.bigIntegerValue());
                    case FLOAT -> json.writeNumber(node.floatValue());
                    case DOUBLE -> json.writeNumber(node.doubleValue());
                    default -> json.writeNumber(node.decimalValue());
                }
            }
            case BOOLEAN -> json.writeBoolean(node.booleanValue());
            case BINARY -> json.writeBinary(node.binaryValue());
            case POJO -> Mapper.INSTANCE.writeValue(json, ((com.fasterxml.jackson.databind.node.POJONode) node).getPojo());
            default -> json.writeNull(); // NULL, MISSING
        }
    }

    /**
     * Fails with a message naming what was found and what is needed when the Jackson on the
     * classpath is older than the one this library needs (a build tool's nearest-wins rule can
     * downgrade it, which otherwise shows up later as a {@code NoClassDefFoundError}).
     */
    static void checkJacksonVersion(com.fasterxml.jackson.core.Version databind,
            com.fasterxml.jackson.core.Version core) {
        for (com.fasterxml.jackson.core.Version found : new com.fasterxml.jackson.core.Version[] {databind, core}) {
            if (found.getMajorVersion() != 2 || found.getMinorVersion() < REQUIRED_MINOR) {
                throw new IllegalStateException("Session Buddy needs Jackson 2." + REQUIRED_MINOR + " or a newer 2.x,"
                        + " but the classpath has " + found.getGroupId() + ":" + found.getArtifactId() + " "
                        + found + " (jackson-databind " + databind + ", jackson-core " + core + "). Another"
                        + " dependency probably brought the older one in (Maven picks the nearest): import"
                        + " com.fasterxml.jackson:jackson-bom:2." + REQUIRED_MINOR + ".0 in dependencyManagement,"
                        + " next to io.sessionbuddy:session-bom.");
            }
        }
    }
}
