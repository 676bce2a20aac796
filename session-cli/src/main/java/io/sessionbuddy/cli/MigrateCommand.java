package io.sessionbuddy.cli;

import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.spi.SessionBuddy;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code migrate --from FILE --to FILE [--dry-run] [--delete-source]}. */
@Command(name = "migrate", description = {"Copy every session from one store to another, keeping versions and"
        + " remaining TTLs.",
    "Safe to re-run: sessions already in the target with the same or a newer version are skipped. Every copy is"
        + " read back; --delete-source deletes from the source only if every session was verified."})
final class MigrateCommand extends StoreCommand {
    @Option(names = "--from", required = true, paramLabel = "FILE", description = "Config file of the source store.")
    Path from;

    @Option(names = "--to", required = true, paramLabel = "FILE", description = "Config file of the target store.")
    Path to;

    @Option(names = "--dry-run", description = "Only report what would be copied; write nothing.")
    boolean dryRun;

    @Option(names = "--delete-source", description = "After every copy was verified, delete the sessions from the source.")
    boolean deleteSource;

    @Option(names = "--max-session-bytes", paramLabel = "N", description = "For this run, the target accepts sessions"
            + " of up to N bytes of JSON (its max_session_bytes otherwise); at most the target's max_decoded_bytes, so"
            + " that its readers can read them.")
    Integer maxSessionBytes;

    @Option(names = "--source-timezone", paramLabel = "ZONE", description = "Legacy sources: the zone of timestamps"
            + " written without one (the original's datetime.now() up to v0.20.0), e.g. America/New_York; default"
            + " the source's source_timezone setting, else UTC.")
    String sourceTimezone;

    @Option(names = "--sync", description = "Staged cutover: copy new sessions, replace the target's copy of sessions"
            + " changed in the source when the target did not change it, report sessions changed on both sides."
            + " Run it again as often as needed while the old service writes.")
    boolean sync;

    @Option(names = "--delete-missing", description = "With --sync: delete the target's copy of a session gone from"
            + " the source (unless the target changed it).")
    boolean deleteMissing;

    @Option(names = "--on-conflict", paramLabel = "source|target|report", description = "With --sync: for a session"
            + " changed on both sides, keep the source's content, the target's, or report it (default; exit 1).")
    String onConflict;

    @Override
    int execute() {
        SessionBuddyConfig sourceConfig = context.config(from);
        SessionBuddyConfig targetConfig = context.config(to);
        long configuredLimit = targetConfig.storedFormat().maxSessionBytes();
        if (maxSessionBytes != null) {
            int decodeBound = targetConfig.storedFormat().maxDecodedBytes();
            if (maxSessionBytes < 1 || maxSessionBytes > decodeBound) {
                throw new CliException("--max-session-bytes must be from 1 to the target's max_decoded_bytes ("
                        + decodeBound + "), was " + maxSessionBytes + ": a larger session could not be read back"
                        + " by the target's readers (raise max_decoded_bytes in " + to + " first)",
                        SessionBuddyCli.USAGE);
            }
            targetConfig = targetConfig.withStoredFormat(targetConfig.storedFormat().withMaxSessionBytes(maxSessionBytes));
        }
        Migration.Summary summary;
        boolean otherLayout;
        java.time.ZoneId zone = null;
        if (sourceTimezone != null) {
            try {
                zone = java.time.ZoneId.of(sourceTimezone.trim());
            } catch (java.time.DateTimeException e) {
                throw new CliException("--source-timezone: not a time zone such as America/New_York, UTC or +02:00: \""
                        + sourceTimezone + "\"", SessionBuddyCli.USAGE);
            }
        }
        if (!sync && (deleteMissing || onConflict != null)) {
            throw new CliException("--delete-missing and --on-conflict go with --sync", SessionBuddyCli.USAGE);
        }
        if (sync && deleteSource) {
            throw new CliException("--sync keeps the source as it is: drop --delete-source (run a plain migrate with it"
                    + " once the old service has stopped)", SessionBuddyCli.USAGE);
        }
        Sync.OnConflict policy = Sync.OnConflict.REPORT;
        if (onConflict != null) {
            try {
                policy = Sync.OnConflict.valueOf(onConflict.trim().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CliException("--on-conflict must be source, target or report, was \"" + onConflict + "\"",
                        SessionBuddyCli.USAGE);
            }
        }
        if (sync) {
            try (SessionBuddy source = SessionBuddy.open(sourceConfig);
                    SessionBuddy target = SessionBuddy.open(targetConfig)) {
                if (zone != null) {
                    applyZone(source, sourceConfig, zone);
                }
                Sync.Summary result = new Sync(source.storage(), target.storage(), targetConfig.defaultTtl(),
                        Clock.systemUTC()).run(dryRun, deleteMissing, policy);
                printSync(result, sourceConfig, targetConfig);
                otherLayout = result.total() == 0 && reportOtherLayouts(source, sourceConfig);
                return result.failures().isEmpty() && !otherLayout ? 0 : SessionBuddyCli.FAILURE;
            }
        }
        try (SessionBuddy source = SessionBuddy.open(sourceConfig); SessionBuddy target = SessionBuddy.open(targetConfig)) {
            if (zone != null) {
                applyZone(source, sourceConfig, zone);
            }
            Migration migration = new Migration(source.storage(), target.storage(), targetConfig.defaultTtl(),
                    Clock.systemUTC(), configuredLimit);
            boolean readOnlySource = sourceConfig.storageBackend().startsWith(SessionBuddyConfig.LEGACY_PREFIX);
            if (deleteSource && readOnlySource) {
                context.err.println("--delete-source: the source is a read-only legacy store, nothing will be deleted"
                        + " from it; remove the old data yourself once the new store is in use");
            }
            summary = migration.run(dryRun, deleteSource && !readOnlySource,
                    context.terminal ? new Bar(context.err) : new Lines(context.err));
            otherLayout = summary.total() == 0 && reportOtherLayouts(source, sourceConfig);
        }
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("from", sourceConfig.storageBackend() + " (" + from + ")");
            result.put("to", targetConfig.storageBackend() + " (" + to + ")");
            result.put("dry_run", summary.dryRun());
            result.put("total", summary.total());
            result.put("copied", summary.copied());
            result.put("skipped_present", summary.present());
            result.put("skipped_expired", summary.expired());
            result.put("failed", summary.failures().size());
            result.put("over_size_limit", summary.overLimit());
            result.put("failures", summary.failures());
            result.put("deleted_from_source", summary.deletedFromSource());
            result.put("seconds", summary.elapsed().toMillis() / 1000.0);
            result.put("sessions_per_second", Math.round(summary.rate()));
            output().printJson(result);
        } else {
            Output out = output();
            out.line((summary.dryRun() ? "dry run: " : "") + "migrated " + sourceConfig.storageBackend() + " (" + from
                    + ") -> " + targetConfig.storageBackend() + " (" + to + ")");
            out.table(java.util.List.of("sessions", "count"), java.util.List.of(
                    java.util.List.of("listed in source", Integer.toString(summary.total())),
                    java.util.List.of(summary.dryRun() ? "would be copied" : "copied and verified",
                            Integer.toString(summary.copied())),
                    java.util.List.of("skipped: already present, same or newer", Integer.toString(summary.present())),
                    java.util.List.of("skipped: expired", Integer.toString(summary.expired())),
                    java.util.List.of("failed", Integer.toString(summary.failures().size())),
                    java.util.List.of("over the target's max_session_bytes (" + configuredLimit + ")"
                            + (maxSessionBytes != null ? ", carried up to " + maxSessionBytes : ""),
                            Integer.toString(summary.overLimit())),
                    java.util.List.of("deleted from source", Integer.toString(summary.deletedFromSource()))));
            out.line(String.format("%.1f s, %.0f sessions/s", summary.elapsed().toMillis() / 1000.0, summary.rate()));
            summary.failures().forEach((id, reason) -> context.err.println("failed " + id + ": " + reason));
            if (deleteSource && !summary.failures().isEmpty()) {
                context.err.println("the source was left as it is: " + summary.failures().size()
                        + " sessions failed (fix them and run again)");
            }
        }
        return summary.failures().isEmpty() && !otherLayout ? 0 : SessionBuddyCli.FAILURE;
    }

    /**
     * A source that lists no session may hold the original store's data in a layout its provider does
     * not read (the original's config file opens the new layout on the original's namespace or
     * directory): says so, names the provider to use, and returns {@code true} (the run then exits 1).
     */
    private boolean reportOtherLayouts(SessionBuddy source, SessionBuddyConfig sourceConfig) {
        if (!(source.storage() instanceof io.sessionbuddy.spi.AbstractSessionStorage storage)) {
            return false;
        }
        java.util.List<String> found = storage.otherLayouts().join();
        if (found.isEmpty()) {
            return false;
        }
        context.err.println("the source (" + sourceConfig.storageBackend() + ", " + from + ") holds no session of its"
                + " own layout, but:");
        found.forEach(line -> context.err.println("  " + line));
        context.err.println("nothing was migrated from it: point --from at a config with that storage_backend"
                + " (see \"Moving from the Python store\" in the README)");
        return true;
    }

    /** A progress bar redrawn in place on a terminal. */
    private static void applyZone(SessionBuddy source, SessionBuddyConfig sourceConfig, java.time.ZoneId zone) {
        if (!(source.storage() instanceof io.sessionbuddy.spi.ReadOnlySessionStorage legacy)) {
            throw new CliException("--source-timezone applies to the original store's layouts (legacy-*"
                    + " sources); " + sourceConfig.storageBackend() + " writes every timestamp with its zone",
                    SessionBuddyCli.USAGE);
        }
        legacy.sourceTimezone(zone);
    }

    private void printSync(Sync.Summary summary, SessionBuddyConfig sourceConfig, SessionBuddyConfig targetConfig) {
        if (json) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("from", sourceConfig.storageBackend() + " (" + from + ")");
            result.put("to", targetConfig.storageBackend() + " (" + to + ")");
            result.put("sync", true);
            result.put("dry_run", summary.dryRun());
            result.put("total", summary.total());
            result.put("copied", summary.copied());
            result.put("updated", summary.updated());
            result.put("unchanged", summary.unchanged());
            result.put("skipped_expired", summary.expired());
            result.put("deleted_missing", summary.deleted());
            result.put("missing_in_source", summary.missing());
            result.put("conflicts", summary.conflicts());
            result.put("failed", summary.failures().size());
            result.put("failures", summary.failures());
            result.put("seconds", summary.elapsed().toMillis() / 1000.0);
            output().printJson(result);
            return;
        }
        Output out = output();
        out.line((summary.dryRun() ? "dry run: " : "") + "synced " + sourceConfig.storageBackend() + " (" + from
                + ") -> " + targetConfig.storageBackend() + " (" + to + ")");
        out.table(java.util.List.of("sessions", "count"), java.util.List.of(
                java.util.List.of("listed in source", Integer.toString(summary.total())),
                java.util.List.of("copied (new in the target)", Integer.toString(summary.copied())),
                java.util.List.of("updated from the source", Integer.toString(summary.updated())),
                java.util.List.of("unchanged since the last sync", Integer.toString(summary.unchanged())),
                java.util.List.of("skipped: expired", Integer.toString(summary.expired())),
                java.util.List.of("deleted: gone from the source", Integer.toString(summary.deleted())),
                java.util.List.of("gone from the source, kept (no --delete-missing)",
                        Integer.toString(summary.missing())),
                java.util.List.of("conflicts", Integer.toString(summary.conflicts().size())),
                java.util.List.of("failed", Integer.toString(summary.failures().size()))));
        summary.conflicts().forEach((id, what) -> context.err.println("conflict " + id + ": " + what));
        summary.failures().forEach((id, reason) -> {
            if (!summary.conflicts().containsKey(id)) {
                context.err.println("failed " + id + ": " + reason);
            }
        });
    }

    private record Bar(PrintStream err) implements Migration.Progress {
        @Override
        public void update(Migration.Counts counts, int total, Duration elapsed) {
            int width = 30;
            int filled = total == 0 ? width : (int) ((long) counts.done() * width / total);
            err.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + status(counts, total, elapsed));
            err.flush();
        }

        @Override
        public void finish(Migration.Counts counts, int total, Duration elapsed) {
            update(counts, total, elapsed);
            err.println();
        }
    }

    /** Plain progress lines, at most one a second, when not on a terminal. */
    private static final class Lines implements Migration.Progress {
        private final PrintStream err;
        private long lastNanos = System.nanoTime();

        Lines(PrintStream err) {
            this.err = err;
        }

        @Override
        public void update(Migration.Counts counts, int total, Duration elapsed) {
            long now = System.nanoTime();
            if (now - lastNanos >= 1_000_000_000L) {
                lastNanos = now;
                err.println("progress: " + status(counts, total, elapsed));
            }
        }

        @Override
        public void finish(Migration.Counts counts, int total, Duration elapsed) {
            err.println("progress: " + status(counts, total, elapsed));
        }
    }

    static String status(Migration.Counts counts, int total, Duration elapsed) {
        double seconds = Math.max(elapsed.toNanos() / 1e9, 1e-3);
        return String.format("%d/%d  copied %d  skipped %d  failed %d  %.0f/s", counts.done(), total, counts.copied,
                counts.present + counts.expired, counts.failures.size(), counts.done() / seconds);
    }
}
