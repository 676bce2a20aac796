package io.sessionbuddy.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import io.sessionbuddy.core.SessionJsonCodec;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.spi.SessionBuddy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The commands that work on one store. */
final class Commands {
    private Commands() {
    }

    static String text(Object value) {
        return value == null ? "-" : value.toString();
    }

    static Map<String, Object> summary(SessionState state) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("session_id", state.sessionId());
        row.put("user_id", state.userId());
        row.put("project_id", state.projectId());
        row.put("last_activity", text(state.lastActivity()));
        row.put("expires_at", text(state.expiresAt()));
        row.put("version", state.version());
        return row;
    }

    @Command(name = "create", description = "Create a session; prints its id.")
    static final class Create extends StoreCommand {
        @Option(names = "--user", required = true, description = "User id.")
        String user;

        @Option(names = "--project", required = true, description = "Project id.")
        String project;

        @Option(names = "--ttl", converter = Durations.class,
                description = "Time to live (3600, 90s, 30m, 24h, 7d, PT1H). Default: the configured default TTL.")
        Duration ttl;

        @Option(names = "--metadata", paramLabel = "JSON", description = "Metadata as a JSON object.")
        String metadata;

        @Override
        int run(SessionBuddy buddy) throws Exception {
            Map<String, Object> values = null;
            if (metadata != null) {
                try {
                    values = Output.JSON.readValue(metadata, new TypeReference<LinkedHashMap<String, Object>>() { });
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                            "--metadata must be a JSON object: " + e.getOriginalMessage());
                }
            }
            String id = buddy.manager().createSession(user, project, values, ttl).join();
            if (json) {
                output().printJson(Map.of("session_id", id));
            } else {
                output().line(id);
            }
            return 0;
        }
    }

    @Command(name = "get", description = "Show one session.")
    static final class Get extends StoreCommand {
        @Parameters(paramLabel = "ID", description = "Session id.")
        String id;

        @Override
        int run(SessionBuddy buddy) {
            SessionState state = buddy.manager().getSession(id).join()
                    .orElseThrow(() -> new CliException("no session " + id + " (absent or expired)"));
            if (json) {
                output().printJson(SessionJsonCodec.toTree(state));
                return 0;
            }
            Map<String, Object> fields = summary(state);
            fields.put("created_at", text(state.createdAt()));
            fields.put("permissions", String.join(", ", state.permissions()));
            fields.put("conversation_turns", state.conversationHistory().size());
            fields.put("metadata", state.metadata().toString());
            output().keyValues(fields);
            return 0;
        }
    }

    @Command(name = "list", description = "List live sessions, optionally by user and/or project.")
    static final class ListSessions extends StoreCommand {
        @Option(names = "--user", description = "Only this user's sessions.")
        String user;

        @Option(names = "--project", description = "Only this project's sessions.")
        String project;

        @Override
        int run(SessionBuddy buddy) {
            SessionManager manager = buddy.manager();
            List<Map<String, Object>> rows = new ArrayList<>();
            for (String id : manager.listSessions(user, project).join()) {
                Optional<SessionState> state;
                try {
                    state = manager.getSession(id).join();
                } catch (java.util.concurrent.CompletionException e) {
                    if (!(e.getCause() instanceof io.sessionbuddy.core.CorruptSessionException corrupt)) {
                        throw e;
                    }
                    context.err.println("session-buddy: skipped unreadable session " + id + ": " + corrupt.getMessage());
                    continue;
                }
                state.ifPresent(s -> rows.add(summary(s)));
            }
            if (json) {
                output().printJson(rows);
            } else {
                output().table(List.of("session_id", "user_id", "project_id", "last_activity", "expires_at", "version"),
                        rows.stream().map(r -> r.values().stream().map(Commands::text).toList()).toList());
                output().line(rows.size() + (rows.size() == 1 ? " session" : " sessions"));
            }
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete a session.")
    static final class Delete extends StoreCommand {
        @Parameters(paramLabel = "ID", description = "Session id.")
        String id;

        @Override
        int run(SessionBuddy buddy) {
            if (!buddy.manager().deleteSession(id).join()) {
                throw new CliException("no session " + id);
            }
            if (json) {
                output().printJson(Map.of("session_id", id, "deleted", true));
            } else {
                output().line("deleted " + id);
            }
            return 0;
        }
    }

    @Command(name = "touch", description = "Extend a session: new time to live from now.")
    static final class Touch extends StoreCommand {
        @Parameters(paramLabel = "ID", description = "Session id.")
        String id;

        @Option(names = "--ttl", converter = Durations.class, description = "New time to live. Default: the configured default TTL.")
        Duration ttl;

        @Override
        int run(SessionBuddy buddy) {
            if (!buddy.manager().touch(id, ttl).join()) {
                throw new CliException("no session " + id + " (absent or expired)");
            }
            SessionState state = buddy.manager().getSession(id).join().orElseThrow();
            if (json) {
                output().printJson(summary(state));
            } else {
                output().line("touched " + id + ", expires at " + state.expiresAt());
            }
            return 0;
        }
    }

    @Command(name = "cleanup", description = "Remove expired sessions and stale index entries (for cron).")
    static final class Cleanup extends StoreCommand {
        @Override
        int run(SessionBuddy buddy) {
            int removed = buddy.manager().cleanupSessions().join();
            if (json) {
                output().printJson(Map.of("removed", removed));
            } else {
                output().line("removed " + removed + " expired " + (removed == 1 ? "session" : "sessions"));
            }
            return 0;
        }
    }

    @Command(name = "health", description = "Check that the store answers (exit code 1 if not).")
    static final class Health extends StoreCommand {
        @Override
        int run(SessionBuddy buddy) {
            boolean available = buddy.manager().isAvailable().join();
            String backend = buddy.config().storageBackend();
            if (json) {
                output().printJson(Map.of("backend", backend, "available", available));
            } else {
                output().line(backend + (available ? ": available" : ": NOT available"));
            }
            return available ? 0 : SessionBuddyCli.FAILURE;
        }
    }

    @Command(name = "stats", description = "Show the backend, its settings (secrets masked) and the stored format.")
    static final class Stats extends StoreCommand {
        @Override
        int run(SessionBuddy buddy) {
            Map<String, Object> stats = buddy.manager().stats().join();
            if (json) {
                output().printJson(stats);
            } else {
                output().keyValues(stats);
            }
            return 0;
        }
    }

    @Command(name = "rewrite", description = {"Rewrite every session in the current stored format:"
            + " re-encrypts with the active key after a key rotation, or compresses old records.",
        "Fields, last_activity and remaining TTL are kept; versions go up by one."})
    static final class Rewrite extends StoreCommand {
        @Override
        int run(SessionBuddy buddy) {
            SessionManager.RewriteReport report = buddy.manager().rewriteAllSessions().join();
            if (json) {
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("rewritten", report.rewritten());
                result.put("vanished", report.vanished());
                result.put("failures", report.failures());
                output().printJson(result);
            } else {
                output().line("rewrote " + report.rewritten() + ", gone meanwhile " + report.vanished() + ", failed "
                        + report.failures().size());
                report.failures().forEach((id, reason) -> context.err.println("  " + id + ": " + reason));
            }
            return report.failures().isEmpty() ? 0 : SessionBuddyCli.FAILURE;
        }
    }

}
