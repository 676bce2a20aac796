package io.sessionbuddy.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sessionbuddy.core.SessionJsonCodec;
import io.sessionbuddy.core.SessionState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;

/**
 * Realistic session JSON of a chosen size: an assistant conversation (user and assistant turns of
 * English prose with Zipf-distributed words, code snippets, tool calls with ids and timestamps),
 * permissions, provider settings, monitoring state and metadata. Deterministic for a given seed,
 * so every run and every backend measures the same bytes.
 */
public final class SessionPayloads {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final String[] WORDS = ("the of and to a in is that for it as with was on be by this are or "
            + "from at which but not have an they you were all their has one would there been can more if will "
            + "session project user deploy function cache request latency budget model prompt token retry store "
            + "index cluster region bucket invoice customer report schema query table column migration release "
            + "error warning timeout config pipeline review summary analysis forecast quarterly revenue growth "
            + "architecture service endpoint response payload encryption permission dashboard metric alert").split(" ");
    private static final String[] CODE = {
        "def handler(event, context):\n    return {\"statusCode\": 200}\n",
        "SELECT customer_id, SUM(total) FROM invoices WHERE created_at > now() - interval '30 days' GROUP BY 1;\n",
        "const res = await fetch(`/api/projects/${id}/sessions`, { method: 'POST', body });\n",
        "for (var entry : sessions.entrySet()) { total += entry.getValue().size(); }\n"};

    private SessionPayloads() {
    }

    /** A session whose JSON is at least {@code targetBytes} long (and at most a turn longer). */
    public static SessionState session(String id, String user, String project, int targetBytes, long seed) {
        Random random = new Random(seed);
        SessionState.Builder builder = SessionState.builder(id, user, project)
                .createdAt(Instant.parse("2026-11-20T09:15:00Z"))
                .lastActivity(Instant.parse("2026-11-20T10:42:17Z"))
                .permissions(List.of("projects:read", "projects:write", "reports:read", "billing:read"))
                .llmProviderConfigs(JSON.objectNode().<ObjectNode>set("anthropic", JSON.objectNode()
                        .put("model", "claude-sonnet").put("max_tokens", 4096).put("temperature", 0.2)))
                .appMonitoringState(JSON.objectNode().put("requests", 128).put("errors", 2)
                        .put("p99_ms", 412.5).put("last_deploy", "2026-11-19T17:03:11Z"))
                .reflectionData(JSON.objectNode().put("goal", sentence(random, 12)).put("confidence", 0.82))
                .metadata(java.util.Map.of("client", "web", "locale", "en-GB", "plan", "team"));
        List<ObjectNode> turns = new ArrayList<>();
        SessionState state = builder.build();
        int size = SessionJsonCodec.toBytes(state).length;
        while (size < targetBytes) {
            ObjectNode turn = turn(random, turns.size());
            turns.add(turn);
            size += turn.toString().length() + 1;
        }
        return builder.conversationHistory(turns).build();
    }

    /**
     * Looks at every entry of {@code state}'s conversation, as a request that renders or extends
     * it does: the number of fields, to be consumed by the benchmark.
     */
    public static long useConversation(SessionState state) {
        long fields = 0;
        for (ObjectNode entry : state.conversationHistory()) {
            fields += entry.size();
        }
        return fields;
    }

    /** The JSON bytes of {@link #session}. */
    public static byte[] json(int targetBytes, long seed) {
        return SessionJsonCodec.toBytes(session("bench-" + seed, "user-" + seed, "project-1", targetBytes, seed));
    }

    private static ObjectNode turn(Random random, int index) {
        boolean user = index % 2 == 0;
        ObjectNode turn = JSON.objectNode()
                .put("role", user ? "user" : "assistant")
                .put("timestamp", Instant.parse("2026-11-20T09:15:00Z").plusSeconds(index * 37L).toString());
        StringBuilder content = new StringBuilder();
        int sentences = user ? 1 + random.nextInt(3) : 3 + random.nextInt(8);
        for (int i = 0; i < sentences; i++) {
            content.append(sentence(random, 6 + random.nextInt(18))).append(' ');
        }
        if (!user && random.nextInt(4) == 0) {
            content.append("\n```\n").append(CODE[random.nextInt(CODE.length)]).append("```\n");
        }
        turn.put("content", content.toString().trim());
        if (!user) {
            turn.put("tokens", 40 + random.nextInt(900));
            if (random.nextInt(3) == 0) {
                turn.putArray("tool_calls").addObject()
                        .put("id", "call_" + new UUID(random.nextLong(), random.nextLong()).toString().replace("-", ""))
                        .put("name", random.nextBoolean() ? "search_documents" : "run_query")
                        .put("arguments", "{\"query\": \"" + sentence(random, 4) + "\", \"limit\": " + (5 + random.nextInt(20)) + "}");
            }
        }
        return turn;
    }

    private static String sentence(Random random, int words) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < words; i++) {
            // Zipf-like: low indexes (common words) far more often
            double u = random.nextDouble();
            int index = (int) (WORDS.length * u * u * u);
            String word = WORDS[Math.min(index, WORDS.length - 1)];
            if (i == 0) {
                word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
            }
            text.append(i == 0 ? "" : " ").append(word);
            if (random.nextInt(40) == 0) {
                text.append(' ').append(random.nextInt(100_000));
            }
        }
        return text.append('.').toString();
    }
}
