package io.sessionbuddy.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sessionbuddy.core.SessionJsonCodec;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * {@code migrate --sync}: a staged cutover while the old service still writes. Every session the sync
 * writes into the target carries a marker, the extra field {@value #MARKER}: a fingerprint of the
 * source record it was copied from and the target version it was written as. On the next sync a
 * session changed in the source (fingerprint differs) replaces the target's copy when the target has
 * not changed since (same version); changed on both sides it is a conflict, settled as the user
 * chooses; gone from the source, it is deleted from the target with {@code --delete-missing} when the
 * target did not change it. Sessions the target holds without a marker (created there) are never
 * touched. Every write is a compare-and-set on the target's version, so an update the new service
 * makes meanwhile is never overwritten unseen: it turns into a conflict on the next sync.
 */
final class Sync {
    /** The extra field of a synced session: {@code {"source_fingerprint": hex, "target_version": n}}. */
    static final String MARKER = "_session_buddy_sync";

    /** What to do with a session changed on both sides since the last sync. */
    enum OnConflict {
        /** Report it (the run exits 1) and change nothing. */
        REPORT,
        /** The source's content replaces the target's. */
        SOURCE,
        /** The target keeps its content; the marker records the source as seen, so it is not reported again. */
        TARGET
    }

    /**
     * What a sync did.
     *
     * @param total sessions listed in the source
     * @param copied sessions new to the target
     * @param updated target copies replaced by the source's newer content
     * @param unchanged sessions unchanged in the source since the last sync (the target's own changes kept)
     * @param expired sessions that expired (or vanished) in the source before their turn
     * @param deleted target copies deleted because their source session is gone ({@code --delete-missing})
     * @param missing target copies whose source session is gone, left as they are (no {@code --delete-missing})
     * @param conflicts sessions changed on both sides, with what was done, by id
     * @param failures sessions that could not be synced, with the reason, by id
     */
    record Summary(int total, int copied, int updated, int unchanged, int expired, int deleted, int missing,
            Map<String, String> conflicts, Map<String, String> failures, boolean dryRun, Duration elapsed) {
    }

    private final SessionStorage source;
    private final SessionStorage target;
    private final Duration fallbackTtl;
    private final Clock clock;

    Sync(SessionStorage source, SessionStorage target, Duration fallbackTtl, Clock clock) {
        this.source = Objects.requireNonNull(source);
        this.target = Objects.requireNonNull(target);
        this.fallbackTtl = Objects.requireNonNull(fallbackTtl);
        this.clock = Objects.requireNonNull(clock);
    }

    private int copied;
    private int updated;
    private int unchanged;
    private int expired;
    private int deleted;
    private int missing;
    private final Map<String, String> conflicts = new LinkedHashMap<>();
    private final Map<String, String> failures = new LinkedHashMap<>();

    Summary run(boolean dryRun, boolean deleteMissing, OnConflict onConflict) {
        long started = System.nanoTime();
        List<String> ids = source.listStoredSessionIds().join();
        Set<String> live = new LinkedHashSet<>();
        for (String id : ids) {
            try {
                if (syncOne(id, dryRun, onConflict)) {
                    live.add(id);
                }
            } catch (RuntimeException e) {
                live.add(id); // unreadable in the source is not gone from it
                failures.put(id, Migration.message(e));
            }
        }
        for (String id : target.listStoredSessionIds().join()) {
            if (live.contains(id)) {
                continue;
            }
            try {
                removeIfGone(id, dryRun, deleteMissing, onConflict);
            } catch (RuntimeException e) {
                failures.put(id, Migration.message(e));
            }
        }
        return new Summary(ids.size(), copied, updated, unchanged, expired, deleted, missing, conflicts, failures,
                dryRun, Duration.ofNanos(System.nanoTime() - started));
    }

    /** Syncs one source session; whether it is live in the source. */
    private boolean syncOne(String id, boolean dryRun, OnConflict onConflict) {
        Optional<SessionState> found = source.retrieveSession(id).join();
        if (found.isEmpty()) {
            expired++;
            return false;
        }
        SessionState session = found.get().toBuilder().extraFields(withoutMarker(found.get().extraFields())).build();
        Instant now = clock.instant();
        Duration ttl = session.expiresAt() == null ? fallbackTtl : Duration.between(now, session.expiresAt());
        if (ttl.toMillis() <= 0) {
            expired++;
            return false;
        }
        String fingerprint = fingerprint(session);
        Optional<SessionState> existing = target.retrieveSession(id).join();
        if (existing.isEmpty()) {
            if (!dryRun) {
                write(session, fingerprint, null, ttl);
            }
            copied++;
            return true;
        }
        SessionState there = existing.get();
        JsonNode marker = there.extraFields().get(MARKER);
        if (marker == null || !marker.isObject()) {
            if (sameContent(there, session)) {
                // copied by a plain migrate: adopt it, so that later syncs can follow it
                if (!dryRun) {
                    write(session, fingerprint, there, ttl);
                }
                unchanged++;
                return true;
            }
            failures.put(id, "the target holds a session with this id that no sync wrote (created there, or changed"
                    + " after a plain migrate): left as it is");
            return true;
        }
        boolean sourceChanged = !fingerprint.equals(marker.path("source_fingerprint").asText());
        boolean targetChanged = there.version() != marker.path("target_version").asLong(-1);
        if (!sourceChanged) {
            unchanged++;
            return true;
        }
        if (!targetChanged) {
            if (!dryRun) {
                write(session, fingerprint, there, ttl);
            }
            updated++;
            return true;
        }
        switch (onConflict) {
            case SOURCE -> {
                if (!dryRun) {
                    write(session, fingerprint, there, ttl);
                }
                conflicts.put(id, "changed in the source and the target since the last sync: the source's content"
                        + " replaced the target's (--on-conflict=source)");
            }
            case TARGET -> {
                if (!dryRun) {
                    Duration left = there.expiresAt() == null ? fallbackTtl : Duration.between(now, there.expiresAt());
                    write(there.toBuilder().extraFields(withoutMarker(there.extraFields())).build(), fingerprint, there,
                            left.toMillis() > 0 ? left : fallbackTtl);
                }
                conflicts.put(id, "changed in the source and the target since the last sync: the target's content"
                        + " kept (--on-conflict=target)");
            }
            default -> {
                conflicts.put(id, "changed in the source and the target since the last sync: left as it is; choose"
                        + " with --on-conflict=source or --on-conflict=target");
                failures.put(id, conflicts.get(id));
            }
        }
        return true;
    }

    /** A target session whose source session is gone (deleted or expired there). */
    private void removeIfGone(String id, boolean dryRun, boolean deleteMissing, OnConflict onConflict) {
        Optional<SessionState> existing = target.retrieveSession(id).join();
        if (existing.isEmpty()) {
            return;
        }
        SessionState there = existing.get();
        JsonNode marker = there.extraFields().get(MARKER);
        if (marker == null || !marker.isObject()) {
            return; // created in the target: not the sync's
        }
        if (!deleteMissing) {
            missing++;
            return;
        }
        boolean targetChanged = there.version() != marker.path("target_version").asLong(-1);
        if (targetChanged && onConflict != OnConflict.SOURCE) {
            String what = "deleted in the source but changed in the target since the last sync: kept";
            conflicts.put(id, what + (onConflict == OnConflict.TARGET ? " (--on-conflict=target)"
                    : "; choose with --on-conflict=source (delete) or --on-conflict=target (keep)"));
            if (onConflict == OnConflict.REPORT) {
                failures.put(id, conflicts.get(id));
            }
            return;
        }
        if (targetChanged) {
            conflicts.put(id, "deleted in the source but changed in the target since the last sync: deleted"
                    + " (--on-conflict=source)");
        }
        if (!dryRun) {
            // only the version it was read at: an update landing meanwhile makes this a conflict next time
            Optional<SessionState> now = target.retrieveSession(id).join();
            if (now.isPresent() && now.get().version() == there.version()) {
                target.deleteSession(id).join();
            }
        }
        deleted++;
    }

    /**
     * Writes {@code session} into the target with a marker: new (store) when {@code there} is null,
     * else a compare-and-set on {@code there}'s version writing version + 1.
     */
    private void write(SessionState session, String fingerprint, SessionState there, Duration ttl) {
        long version = there == null ? session.version() : there.version() + 1;
        ObjectNode marker = JsonNodeFactory.instance.objectNode().put("source_fingerprint", fingerprint)
                .put("target_version", version);
        SessionState marked = session.toBuilder().version(version).extraField(MARKER, marker).build();
        if (there == null) {
            target.storeSession(marked, ttl).join();
        } else if (!target.replaceSession(marked, there.version(), ttl).join()) {
            throw new IllegalStateException("the target's copy changed during the sync; run it again");
        }
    }

    private static ObjectNode withoutMarker(ObjectNode extra) {
        if (!extra.has(MARKER)) {
            return extra;
        }
        ObjectNode copy = extra.deepCopy();
        copy.remove(MARKER);
        return copy;
    }

    /**
     * SHA-256 of the session's JSON without its expiry, version and marker: what the source says.
     * Hashed in the original field order ({@code toTree}), not the stored one, so that the
     * fingerprints earlier syncs left in a target still match after the writer's order changed.
     */
    static String fingerprint(SessionState session) {
        SessionState content = session.toBuilder().expiresAt(null).version(0)
                .extraFields(withoutMarker(session.extraFields())).build();
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(SessionJsonCodec.toBytes(SessionJsonCodec.toTree(content))));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** Same content, expiry, version and marker aside. */
    static boolean sameContent(SessionState a, SessionState b) {
        return fingerprint(a).equals(fingerprint(b));
    }
}
