package io.sessionbuddy.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One user's session: who the user is, which project, what they may do, the conversation so far
 * and application state.
 *
 * <p>Deeply immutable, without copies on the way out. A JSON value given to the constructor or
 * the {@link Builder} is copied once (and checked against the limits a reader applies); a value
 * read from a record is owned from the start and not copied at all. The accessors return the
 * state's own values, which are read-only: every Jackson read method works on them, and every
 * mutator ({@code put}, {@code set}, {@code remove}, {@code add}, ...) throws
 * {@link UnsupportedOperationException}, at any depth. To edit one, take
 * {@code state.metadata().deepCopy()} (an ordinary {@link ObjectNode}), or use the builder's
 * {@link Builder#putMetadata putMetadata}, which shares every other value. A changed state made
 * with {@link #toBuilder()} or {@link #withExpiresAt} shares every value it did not change, so
 * making one costs what was changed, not the size of the session.
 *
 * <p>The JSON field names (see {@link SessionJsonCodec}) are those of the original Python model
 * plus {@code expires_at} and {@code version}; unknown fields read from a record are kept in
 * {@link #extraFields()} and written back.
 *
 * <p>{@link #toString()} shows ids only: session contents (which may hold provider API keys) are
 * never logged.
 *
 * @param sessionId the id (see {@link SessionIds})
 * @param userId the owning user; non-empty
 * @param projectId the project; non-empty
 * @param createdAt when the session was created
 * @param lastActivity when it was last written
 * @param permissions granted permissions, order kept
 * @param conversationHistory the conversation so far, one JSON object per entry
 * @param reflectionData free-form JSON object
 * @param appMonitoringState free-form JSON object
 * @param llmProviderConfigs free-form JSON object (may hold secrets: consider encryption at rest)
 * @param metadata free-form JSON object
 * @param expiresAt when the session expires, or {@code null} when not known (old records)
 * @param version 1 for a new session, +1 on each write through {@link SessionManager}; 0 = unknown
 * @param extraFields fields this version does not know, kept for forward compatibility
 */
public record SessionState(
        String sessionId,
        String userId,
        String projectId,
        Instant createdAt,
        Instant lastActivity,
        List<String> permissions,
        List<ObjectNode> conversationHistory,
        ObjectNode reflectionData,
        ObjectNode appMonitoringState,
        ObjectNode llmProviderConfigs,
        ObjectNode metadata,
        Instant expiresAt,
        long version,
        ObjectNode extraFields) {

    /**
     * Validates, and freezes (copies once) JSON values that are not already a state's; see the class description.
     *
     * @param sessionId the id (see {@link SessionIds})
     * @param userId the owning user; non-empty
     * @param projectId the project; non-empty
     * @param createdAt when the session was created
     * @param lastActivity when it was last written ({@code null}: {@code createdAt})
     * @param permissions granted permissions, order kept ({@code null}: none)
     * @param conversationHistory the conversation so far, one JSON object per entry
     * @param reflectionData free-form JSON object
     * @param appMonitoringState free-form JSON object
     * @param llmProviderConfigs free-form JSON object
     * @param metadata free-form JSON object
     * @param expiresAt when the session expires, or {@code null} when not known
     * @param version the version, at least 0
     * @param extraFields fields this version does not know
     * @throws IllegalArgumentException for an invalid id, an empty user or project, a negative
     *     version, or a JSON value over the limits ({@link JsonLimits})
     */
    public SessionState {
        SessionIds.requireValid(sessionId);
        userId = requireText(userId, "user_id");
        projectId = requireText(projectId, "project_id");
        Objects.requireNonNull(createdAt, "created_at");
        lastActivity = lastActivity == null ? createdAt : lastActivity;
        permissions = permissions == null ? List.of() : List.copyOf(permissions);
        for (String permission : permissions) {
            JsonLimits.checkString(permission, "permissions");
        }
        // frozen: copied once and checked against the reader's limits (JsonLimits), unless
        // already frozen (from a record or another state), which is shared as it is
        conversationHistory = frozenHistory(conversationHistory);
        reflectionData = FrozenJson.freeze(reflectionData, "reflection_data");
        appMonitoringState = FrozenJson.freeze(appMonitoringState, "app_monitoring_state");
        llmProviderConfigs = FrozenJson.freeze(llmProviderConfigs, "llm_provider_configs");
        metadata = FrozenJson.freeze(metadata, "metadata");
        if (version < 0) {
            throw new IllegalArgumentException("version must be >= 0, was " + version);
        }
        extraFields = FrozenJson.freeze(extraFields, "extra fields");
        for (Map.Entry<String, JsonNode> field : extraFields.properties()) {
            String name = field.getKey();
            if (SessionJsonCodec.KNOWN_FIELDS.contains(name)) {
                throw new IllegalArgumentException("extra field '" + name + "' is a known session field");
            }
        }
    }

    /**
     * A builder for a new session; created and last-activity default to now, version to 1.
     *
     * @param sessionId the id
     * @param userId the owning user
     * @param projectId the project
     * @return the builder
     */
    public static Builder builder(String sessionId, String userId, String projectId) {
        return new Builder(sessionId, userId, projectId);
    }

    /**
     * A builder holding this state's values (shared, not copied).
     *
     * @return the builder
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * A copy with another expiry (every other value shared).
     *
     * @param newExpiresAt the new expiry, or {@code null} for none known
     * @return the copy
     */
    public SessionState withExpiresAt(Instant newExpiresAt) {
        return toBuilder().expiresAt(newExpiresAt).build();
    }

    /**
     * Whether this state has expired at {@code now}. A state with no known expiry never expires.
     *
     * @param now the time to compare with
     * @return {@code true} when {@code expires_at} is at or before {@code now}
     */
    public boolean isExpiredAt(Instant now) {
        return expiresAt != null && !expiresAt.isAfter(now);
    }

    /** The JSON objects in JSON field order: for the codec. */
    ObjectNode[] objects() {
        return new ObjectNode[] {reflectionData, appMonitoringState, llmProviderConfigs, metadata};
    }

    /**
     * The number of conversation entries (the same as {@code conversationHistory().size()}).
     *
     * @return the number of entries
     */
    public int conversationSize() {
        return conversationHistory.size();
    }

    @Override
    public String toString() {
        return "SessionState[sessionId=" + sessionId + ", userId=" + userId + ", projectId=" + projectId
                + ", version=" + version + ", expiresAt=" + expiresAt + "]";
    }

    private static String requireText(String value, String field) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(field + " is required and must not be empty");
        }
        JsonLimits.checkUnicode(value, field, "the id");
        return value;
    }

    @SuppressWarnings("ReferenceEquality") // identity on purpose: whether freeze returned the entry or a copy
    private static List<ObjectNode> frozenHistory(List<ObjectNode> history) {
        if (history instanceof LazyHistory) {
            return history; // read from a record: parsed (and checked) on first use
        }
        if (history == null || history.isEmpty()) {
            return List.of();
        }
        ObjectNode[] entries = new ObjectNode[history.size()];
        boolean changed = false;
        int i = 0;
        for (ObjectNode entry : history) {
            ObjectNode frozen = FrozenJson.freeze(Objects.requireNonNull(entry, "conversation_history entry"),
                    "conversation_history");
            changed |= frozen != entry;
            entries[i++] = frozen;
        }
        // List.copyOf returns an unmodifiable list as it is: a shared history is not copied either
        return changed ? List.of(entries) : List.copyOf(history);
    }

    /** Builds a {@link SessionState}; JSON objects may be given as Jackson nodes or as plain maps. */
    public static final class Builder {
        private String sessionId;
        private String userId;
        private String projectId;
        private Instant createdAt;
        private Instant lastActivity;
        private List<String> permissions = List.of();
        private List<ObjectNode> conversationHistory = List.of();
        private ObjectNode reflectionData;
        private ObjectNode appMonitoringState;
        private ObjectNode llmProviderConfigs;
        private ObjectNode metadata;
        private Instant expiresAt;
        private long version = 1;
        private ObjectNode extraFields;

        private Builder(String sessionId, String userId, String projectId) {
            this.sessionId = sessionId;
            this.userId = userId;
            this.projectId = projectId;
        }

        private Builder(SessionState s) {
            this(s.sessionId, s.userId, s.projectId);
            createdAt = s.createdAt;
            lastActivity = s.lastActivity;
            permissions = s.permissions;
            conversationHistory = s.conversationHistory;
            reflectionData = s.reflectionData;
            appMonitoringState = s.appMonitoringState;
            llmProviderConfigs = s.llmProviderConfigs;
            metadata = s.metadata;
            expiresAt = s.expiresAt;
            version = s.version;
            extraFields = s.extraFields;
        }

        /**
         * Sets the session id.
         *
         * @param value the session id
         * @return this builder
         */
        public Builder sessionId(String value) {
            sessionId = value;
            return this;
        }

        /**
         * Sets the user id.
         *
         * @param value the user id
         * @return this builder
         */
        public Builder userId(String value) {
            userId = value;
            return this;
        }

        /**
         * Sets the project id.
         *
         * @param value the project id
         * @return this builder
         */
        public Builder projectId(String value) {
            projectId = value;
            return this;
        }

        /**
         * Sets the creation time.
         *
         * @param value the creation time
         * @return this builder
         */
        public Builder createdAt(Instant value) {
            createdAt = value;
            return this;
        }

        /**
         * Sets the last-activity time.
         *
         * @param value the last-activity time
         * @return this builder
         */
        public Builder lastActivity(Instant value) {
            lastActivity = value;
            return this;
        }

        /**
         * Sets the permissions.
         *
         * @param value the permissions
         * @return this builder
         */
        public Builder permissions(List<String> value) {
            permissions = value;
            return this;
        }

        /**
         * Sets the conversation history.
         *
         * @param value the conversation history
         * @return this builder
         */
        public Builder conversationHistory(List<ObjectNode> value) {
            conversationHistory = value;
            return this;
        }

        /**
         * Appends one conversation entry given as a map of JSON-compatible values.
         *
         * @param entry the entry's fields
         * @return this builder
         * @throws IllegalArgumentException when a value is not JSON-compatible or over the limits
         */
        public Builder addConversationEntry(Map<String, ?> entry) {
            ObjectNode node = JsonSupport.toObjectNode(entry, "conversation_history entry");
            if (conversationHistory instanceof LazyHistory recorded) {
                // a conversation read from a record: kept unparsed, the new entry beside it
                conversationHistory = recorded.plus(FrozenJson.freeze(node, "conversation_history"));
                return this;
            }
            List<ObjectNode> grown = new ArrayList<>(conversationHistory);
            grown.add(node);
            conversationHistory = grown;
            return this;
        }

        /**
         * Sets the reflection data.
         *
         * @param value the reflection data
         * @return this builder
         */
        public Builder reflectionData(ObjectNode value) {
            reflectionData = value;
            return this;
        }

        /**
         * Sets the app monitoring state.
         *
         * @param value the app monitoring state
         * @return this builder
         */
        public Builder appMonitoringState(ObjectNode value) {
            appMonitoringState = value;
            return this;
        }

        /**
         * Sets the app monitoring state from a map of JSON-compatible values.
         *
         * @param value the app monitoring state from a map of JSON-compatible values
         * @return this builder
         */
        public Builder appMonitoringState(Map<String, ?> value) {
            appMonitoringState = JsonSupport.toObjectNode(value, "app_monitoring_state");
            return this;
        }

        /**
         * Sets the LLM provider configs.
         *
         * @param value the LLM provider configs
         * @return this builder
         */
        public Builder llmProviderConfigs(ObjectNode value) {
            llmProviderConfigs = value;
            return this;
        }

        /**
         * Sets the metadata.
         *
         * @param value the metadata
         * @return this builder
         */
        public Builder metadata(ObjectNode value) {
            metadata = value;
            return this;
        }

        /**
         * Sets the metadata from a map of JSON-compatible values.
         *
         * @param value the metadata from a map of JSON-compatible values
         * @return this builder
         */
        public Builder metadata(Map<String, ?> value) {
            metadata = JsonSupport.toObjectNode(value, "metadata");
            return this;
        }

        /**
         * Sets the expiry time ({@code null} = not known).
         *
         * @param value the expiry time ({@code null} = not known)
         * @return this builder
         */
        public Builder expiresAt(Instant value) {
            expiresAt = value;
            return this;
        }

        /**
         * Sets the version.
         *
         * @param value the version
         * @return this builder
         */
        public Builder version(long value) {
            version = value;
            return this;
        }

        /**
         * Sets the fields unknown to this version.
         *
         * @param value the fields unknown to this version
         * @return this builder
         */
        public Builder extraFields(ObjectNode value) {
            extraFields = value;
            return this;
        }

        /**
         * Sets one field unknown to this version (the other extra fields are shared, not copied).
         *
         * @param name the field's JSON name; not a known session field
         * @param value its value
         * @return this builder
         */
        public Builder extraField(String name, JsonNode value) {
            extraFields = with(extraFields, name, value);
            return this;
        }

        /**
         * Sets one metadata value, keeping the others (shared, not copied).
         *
         * @param name the key in {@code metadata}
         * @param value a {@link JsonNode}, or a JSON-compatible Java value (string, number, boolean,
         *     map, list, {@code null})
         * @return this builder
         * @throws IllegalArgumentException when {@code value} is not JSON-compatible
         */
        public Builder putMetadata(String name, Object value) {
            metadata = with(metadata, name, value);
            return this;
        }

        /**
         * Sets one app monitoring state value, keeping the others (shared, not copied).
         *
         * @param name the key in {@code app_monitoring_state}
         * @param value a {@link JsonNode}, or a JSON-compatible Java value
         * @return this builder
         * @throws IllegalArgumentException when {@code value} is not JSON-compatible
         */
        public Builder putAppMonitoringState(String name, Object value) {
            appMonitoringState = with(appMonitoringState, name, value);
            return this;
        }

        /** A shallow copy of {@code object} with {@code name} set: children stay shared (frozen at build). */
        private static ObjectNode with(ObjectNode object, String name, Object value) {
            Objects.requireNonNull(name, "name");
            ObjectNode grown = JsonSupport.NODES.objectNode();
            if (object != null) {
                grown.setAll(object);
            }
            grown.set(name, JsonSupport.toNode(value, name));
            return grown;
        }

        /**
         * Builds the state.
         *
         * @return the state
         * @throws IllegalArgumentException when an id is invalid or a required field is empty
         */
        public SessionState build() {
            Instant created = createdAt != null ? createdAt : Instant.now();
            return new SessionState(sessionId, userId, projectId, created,
                    lastActivity != null ? lastActivity : created, permissions, conversationHistory,
                    reflectionData, appMonitoringState, llmProviderConfigs, metadata, expiresAt, version,
                    extraFields);
        }
    }
}
