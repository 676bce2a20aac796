package io.sessionbuddy.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** The one Jackson mapper of core: plain JSON, no default typing, no polymorphic type handling. */
final class JsonSupport {
    static final ObjectMapper MAPPER = JsonMapper.builder().build();

    private JsonSupport() {
    }

    static ObjectNode toObjectNode(Map<String, ?> value, String field) {
        if (value == null) {
            return MAPPER.createObjectNode();
        }
        JsonNode node;
        try {
            node = MAPPER.valueToTree(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": value is not JSON-compatible: " + e.getMessage(), e);
        }
        return (ObjectNode) node;
    }
}
