package io.sessionbuddy.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** The one Jackson mapper of core: plain JSON, no default typing, no polymorphic type handling. */
final class JsonSupport {
    /** The oldest Jackson this library is built and tested against. */
    static final int REQUIRED_MINOR = 23;

    static {
        // Before anything below touches a Jackson class a downgraded Jackson may lack.
        checkJacksonVersion(com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION,
                com.fasterxml.jackson.core.json.PackageVersion.VERSION);
    }

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
        return value == null ? MAPPER.createObjectNode() : (ObjectNode) toNode(value, field);
    }

    /** Any JSON-compatible Java value (or a {@link JsonNode}, returned as it is) as a tree. */
    static JsonNode toNode(Object value, String field) {
        if (value instanceof JsonNode node) {
            return node;
        }
        if (value == null) {
            return com.fasterxml.jackson.databind.node.NullNode.getInstance();
        }
        JsonLimits.checkValue(value, field);
        try {
            return MAPPER.valueToTree(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": value is not JSON-compatible: " + e.getMessage(), e);
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
