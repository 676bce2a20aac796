package io.sessionbuddy.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** The one Jackson mapper of core: plain JSON, no default typing, no polymorphic type handling. */
final class JsonSupport {
    static final ObjectMapper MAPPER = JsonMapper.builder(com.fasterxml.jackson.core.JsonFactory.builder()
                    .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                            .maxNestingDepth(JsonLimits.READ_MAX_DEPTH)
                            .maxStringLength(JsonLimits.MAX_STRING_CHARS)
                            .maxNameLength(JsonLimits.MAX_NAME_CHARS)
                            .maxNumberLength(JsonLimits.MAX_NUMBER_CHARS)
                            .build())
                    .streamWriteConstraints(com.fasterxml.jackson.core.StreamWriteConstraints.builder()
                            .maxNestingDepth(JsonLimits.READ_MAX_DEPTH)
                            .build())
                    // a parse error quotes no part of the record: it may be a plaintext session
                    .errorReportConfiguration(com.fasterxml.jackson.core.ErrorReportConfiguration.builder()
                            .maxErrorTokenLength(0).maxRawContentLength(0).build())
                    .disable(com.fasterxml.jackson.core.StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
                    .build())
            .build();

    private JsonSupport() {
    }

    static ObjectNode toObjectNode(Map<String, ?> value, String field) {
        if (value == null) {
            return MAPPER.createObjectNode();
        }
        JsonLimits.checkValue(value, field);
        JsonNode node;
        try {
            node = MAPPER.valueToTree(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": value is not JSON-compatible: " + e.getMessage(), e);
        }
        return (ObjectNode) node;
    }
}
