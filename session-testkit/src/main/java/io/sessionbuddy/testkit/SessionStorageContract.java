package io.sessionbuddy.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.sessionbuddy.core.format.KeyRing;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionJsonCodec;
import io.sessionbuddy.core.SessionTooLargeException;
import io.sessionbuddy.core.format.StoredFormat;
import org.assertj.core.api.Assertions;
import org.assertj.core.data.TemporalUnitOffset;
import io.sessionbuddy.core.SessionIds;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.SessionStorageException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The behaviour every {@link SessionStorage} must have. A backend's test extends this class and
 * implements {@link #createStorage(Clock, StoredFormat)}; every test then runs against a fresh
 * storage. A backend that stores bytes extends {@link BytesSessionStorageContract} instead, which
 * adds the stored-format tests (damaged, truncated, moved records, wrong keys, formats written by
 * other settings); run the suite again with compression and encryption on by overriding
 * {@link #storedFormat()} in a subclass.
 *
 * <pre>{@code
 * class MyStorageTest extends SessionStorageContract {
 *     @Override
 *     protected SessionStorage createStorage(Clock clock, StoredFormat format) {
 *         return MyStorage.builder().clock(clock).storedFormat(format).build();
 *     }
 * }
 * }</pre>
 *
 * <p>Time: the storage gets a {@link MutableClock}; tests move it with {@link #advance(Duration)}.
 * A backend whose server owns expiry (Redis {@code PX}) overrides {@link #serverOwnsTime()} to
 * return {@code true}; then {@code advance} also sleeps, and short TTLs of a few hundred
 * milliseconds are used.
 */
public abstract class SessionStorageContract {
    /** A TTL short enough to wait for. */
    protected static final Duration SHORT_TTL = Duration.ofMillis(400);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The clock given to the storage. */
    protected MutableClock clock;
    /** The storage under test, fresh for each test. */
    protected SessionStorage storage;
    private final List<SessionStorage> opened = new ArrayList<>();

    /**
     * A new, empty storage using {@code clock} for expiry, the default TTL of 24 hours (or
     * {@link #defaultTtl()}) and {@code format}.
     *
     * @param clock the clock for expiry
     * @param format the stored format
     * @return the storage; the suite closes it
     */
    protected abstract SessionStorage createStorage(Clock clock, StoredFormat format);

    /**
     * The default format with encryption on (a fixed test key {@code test-key-1}) and every
     * payload compressed: what the encrypted variant of a backend's suite returns from
     * {@link #storedFormat()}.
     *
     * @return the format
     */
    protected static StoredFormat encryptedFormat() {
        byte[] key = new byte[KeyRing.KEY_BYTES];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (i * 37 + 11);
        }
        return StoredFormat.defaults().withCompressionThreshold(0)
                .withKeyRing(KeyRing.of("test-key-1", Map.of("test-key-1", key)));
    }

    /**
     * The stored format the suite runs with; override to run it compressed or encrypted.
     *
     * @return the stored format the suite runs with; override to run it compressed or encrypted
     */
    protected StoredFormat storedFormat() {
        return StoredFormat.defaults();
    }

    /**
     * Whether the server decides expiry (then {@link #advance} sleeps as well).
     *
     * @return whether the server decides expiry (then {@link #advance} sleeps as well)
     */
    protected boolean serverOwnsTime() {
        return false;
    }

    /**
     * The default TTL the storage was created with.
     *
     * @return the default TTL the storage was created with
     */
    protected Duration defaultTtl() {
        return SessionBuddyConfig.DEFAULT_TTL;
    }

    /**
     * Moves time forward for the storage.
     *
     * @param amount how far
     * @throws InterruptedException when interrupted while waiting for the server's clock
     */
    protected void advance(Duration amount) throws InterruptedException {
        clock.advance(amount);
        if (serverOwnsTime()) {
            Thread.sleep(amount.toMillis());
        }
    }

    @BeforeEach
    void openStorage() {
        clock = MutableClock.ofNow();
        storage = createStorage(clock, storedFormat());
        opened.add(storage);
    }

    @AfterEach
    void closeStorage() {
        opened.forEach(SessionStorage::close);
        opened.clear();
    }

    // ---- helpers ----

    /**
     * A session with every field set, including unicode, nested JSON and unknown extra fields.
     *
     * @param id the session id
     * @param user the user
     * @param project the project
     * @return the session
     */
    protected static SessionState fullSession(String id, String user, String project) {
        ObjectNode nested = JSON.createObjectNode();
        nested.putObject("level1").putObject("level2").putArray("items").add(1).add(2.5).add("três").addNull();
        nested.put("emoji", "🦊 ✓ 日本語 \u00e9");
        ObjectNode turn = JSON.createObjectNode().put("role", "user").put("content", "Grüße, 世界! \"quotes\" \\ \n");
        turn.putObject("meta").put("tokens", 12).put("ok", true);
        return SessionState.builder(id, user, project)
                .createdAt(Instant.parse("2024-05-06T07:08:09.123456Z"))
                .lastActivity(Instant.parse("2024-05-06T08:00:00Z"))
                .permissions(List.of("read", "write", "admin:ü"))
                .conversationHistory(List.of(turn, JSON.createObjectNode()))
                .reflectionData(nested)
                .appMonitoringState(JSON.createObjectNode())
                .llmProviderConfigs(JSON.createObjectNode().put("provider", "x").putNull("api_key"))
                .metadata(Map.of("tags", List.of(), "n", 3))
                .version(7)
                .extraField("future_field", new TextNode("kept"))
                .build();
    }

    /**
     * A minimal session.
     *
     * @param id the session id
     * @param user the user
     * @param project the project
     * @return the session
     */
    protected static SessionState session(String id, String user, String project) {
        return SessionState.builder(id, user, project).createdAt(Instant.parse("2024-01-01T00:00:00Z")).build();
    }

    /**
     * Waits for a future (at most 30 s).
     *
     * @param <T> the result's type
     * @param future the future
     * @return its result (a failure is rethrown unwrapped)
     */
    protected static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new AssertionError(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("operation did not complete within 30 s", e);
        }
    }

    /**
     * The failure of a call, whether it threw at once or returned a failed future.
     *
     * @param call the call
     * @return its failure, unwrapped
     */
    protected static Throwable failureOf(Supplier<CompletableFuture<?>> call) {
        try {
            await(call.get());
        } catch (CompletionException e) {
            return e.getCause();
        } catch (RuntimeException e) {
            return e;
        }
        throw new AssertionError("expected the call to fail, but it succeeded");
    }

    /**
     * Closes {@code other} after the test, with the storage under test; returns it.
     *
     * @param other another storage
     * @return {@code other}
     */
    protected final SessionStorage closeAfterTest(SessionStorage other) {
        opened.add(other);
        return other;
    }

    /**
     * The stored session (failing when absent).
     *
     * @param id the session id
     * @return the session
     */
    protected final SessionState stored(String id) {
        return await(storage.retrieveSession(id)).orElseThrow(() -> new AssertionError("session " + id + " absent"));
    }

    /**
     * A fresh session id.
     *
     * @return a fresh session id
     */
    protected static String id() {
        return SessionIds.generate();
    }

    // ---- round trips ----

    @Test
    void storeThenRetrieveKeepsEveryField() {
        SessionState state = fullSession(id(), "user-ü", "project/1");
        Duration ttl = Duration.ofHours(2);

        assertThat(await(storage.storeSession(state, ttl))).isTrue();
        SessionState read = stored(state.sessionId());

        assertThat(read.withExpiresAt(null)).isEqualTo(state.withExpiresAt(null));
        assertThat(read.expiresAt()).isCloseTo(clock.instant().plus(ttl), within(Duration.ofSeconds(2)));
        assertThat(read.extraFields().get("future_field").asText()).isEqualTo("kept");
        assertThat(read.conversationHistory().get(0).get("content").asText()).isEqualTo("Grüße, 世界! \"quotes\" \\ \n");
    }

    @Test
    void aStateReadBackAndWrittenAgainKeepsItsConversation() {
        SessionState state = fullSession(id(), "user-ü", "project/1");
        await(storage.storeSession(state, null));
        SessionState read = stored(state.sessionId());

        // the conversation untouched, another field changed: written back as it was read
        SessionState changed = read.toBuilder().putMetadata("step", 2).version(read.version() + 1).build();
        assertThat(await(storage.replaceSession(changed, read.version(), null))).isTrue();
        SessionState again = stored(state.sessionId());
        assertThat(again.metadata().get("step").asInt()).isEqualTo(2);
        assertThat(again.conversationHistory()).isEqualTo(state.conversationHistory());

        // then a turn appended to it
        SessionState grown = again.toBuilder().addConversationEntry(java.util.Map.of("role", "user", "content", "next"))
                .version(again.version() + 1).build();
        assertThat(await(storage.replaceSession(grown, again.version(), null))).isTrue();
        SessionState last = stored(state.sessionId());
        assertThat(last.conversationSize()).isEqualTo(state.conversationSize() + 1);
        assertThat(last.conversationHistory().subList(0, state.conversationSize()))
                .isEqualTo(state.conversationHistory());
        assertThat(last.conversationHistory().get(state.conversationSize()).get("content").asText()).isEqualTo("next");
    }

    @Test
    void aNullTtlMeansTheDefaultTtl() {
        SessionState state = session(id(), "u", "p");

        await(storage.storeSession(state, null));

        assertThat(stored(state.sessionId()).expiresAt())
                .isCloseTo(clock.instant().plus(defaultTtl()), within(Duration.ofSeconds(2)));
    }

    @Test
    void aOneMebibyteAppStateRoundTrips() {
        ObjectNode big = JSON.createObjectNode();
        StringBuilder chunk = new StringBuilder();
        for (int i = 0; i < 1024; i++) {
            chunk.append((char) ('a' + i % 26));
        }
        for (int i = 0; i < 1024; i++) {
            big.put("k" + i, chunk.toString());
        }
        SessionState state = session(id(), "u", "p").toBuilder().appMonitoringState(big).build();

        await(storage.storeSession(state, null));

        assertThat(stored(state.sessionId()).appMonitoringState()).isEqualTo(big);
    }

    @Test
    void storedStateIsNotChangedByCallersMutatingTheirCopies() {
        ObjectNode metadata = JSON.createObjectNode().put("a", 1);
        SessionState state = session(id(), "u", "p").toBuilder().metadata(metadata).build();
        await(storage.storeSession(state, null));

        metadata.put("a", 2);
        SessionState read = stored(state.sessionId());
        // returned values are read-only: a caller cannot change what a store (or its cache) holds
        assertThatThrownBy(() -> read.metadata().put("a", 3)).isInstanceOf(UnsupportedOperationException.class);
        read.metadata().deepCopy().put("a", 4);

        assertThat(stored(state.sessionId()).metadata().get("a").asInt()).isEqualTo(1);
    }

    @Test
    void storeOverwrites() {
        SessionState first = session(id(), "u", "p");
        await(storage.storeSession(first, null));
        SessionState second = first.toBuilder().permissions(List.of("changed")).version(2).build();

        await(storage.storeSession(second, null));

        assertThat(stored(first.sessionId()).permissions()).containsExactly("changed");
        assertThat(stored(first.sessionId()).version()).isEqualTo(2);
    }

    // ---- delete and unknown ids ----

    @Test
    void deleteReturnsTrueThenFalse() {
        SessionState state = session(id(), "u", "p");
        await(storage.storeSession(state, null));

        assertThat(await(storage.deleteSession(state.sessionId()))).isTrue();
        assertThat(await(storage.deleteSession(state.sessionId()))).isFalse();
        assertThat(await(storage.retrieveSession(state.sessionId()))).isEmpty();
    }

    @Test
    void unknownIdsAreAbsent() {
        assertThat(await(storage.retrieveSession("no-such-session"))).isEmpty();
        assertThat(await(storage.deleteSession("no-such-session"))).isFalse();
        assertThat(await(storage.replaceSession(session("no-such-session", "u", "p"), 1, null))).isFalse();
    }

    // ---- bulk reads ----

    @Test
    void aBulkReadReturnsTheLiveSessionsAmongTheIdsInTheOrderGiven() throws InterruptedException {
        SessionState a = session(id(), "bulk-user", "p");
        SessionState b = fullSession(id(), "bulk-user", "p");
        SessionState shortLived = session(id(), "bulk-user", "p");
        await(storage.storeSession(a, null));
        await(storage.storeSession(b, null));
        await(storage.storeSession(shortLived, SHORT_TTL));
        advance(SHORT_TTL.multipliedBy(3));

        Map<String, SessionState> found = await(storage.retrieveSessions(List.of(b.sessionId(), "no-such-session",
                shortLived.sessionId(), a.sessionId(), b.sessionId())));

        assertThat(found.keySet()).containsExactly(b.sessionId(), a.sessionId());
        assertThat(found.get(a.sessionId())).isEqualTo(stored(a.sessionId()));
        assertThat(found.get(b.sessionId())).isEqualTo(stored(b.sessionId()));
        assertThatThrownBy(() -> found.put("x", a)).isInstanceOf(UnsupportedOperationException.class);
        assertThat(await(storage.retrieveSessions(List.of()))).isEmpty();
    }

    @Test
    void aBulkReadOfManySessionsFindsEachOnce() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            SessionState state = session(id(), "many", "p");
            ids.add(state.sessionId());
            await(storage.storeSession(state, null));
        }
        List<String> asked = new ArrayList<>(ids);
        asked.add(2, "absent-one");

        Map<String, SessionState> found = await(storage.retrieveSessions(asked));

        assertThat(found.keySet()).containsExactlyElementsOf(ids);
        found.forEach((id, state) -> assertThat(state.sessionId()).isEqualTo(id));
    }

    @Test
    void aBulkReadRefusesABadIdBeforeReadingAnything() {
        assertThatThrownBy(() -> storage.retrieveSessions(List.of("fine", "")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> storage.retrieveSessions(java.util.Arrays.asList("fine", null)))
                .isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> storage.retrieveSessions(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void theManagerReadsSeveralSessionsAndAUsersSessionsInOneGo() {
        SessionManager manager = new SessionManager(storage);
        String first = await(manager.createSession("states-user", "p1"));
        String second = await(manager.createSession("states-user", "p2"));
        String other = await(manager.createSession("someone-else", "p1"));

        assertThat(await(manager.getSessions(List.of(other, first))).keySet()).containsExactly(other, first);
        assertThat(await(manager.listUserSessionStates("states-user"))).extracting(SessionState::sessionId)
                .containsExactlyInAnyOrder(first, second);
        assertThat(await(manager.listSessionStates("states-user", "p2"))).extracting(SessionState::sessionId)
                .containsExactly(second);
        assertThat(await(manager.listSessionStates(null, "p1"))).extracting(SessionState::userId)
                .containsExactlyInAnyOrder("states-user", "someone-else");
    }

    // ---- TTL ----

    @Test
    void anExpiredSessionIsAbsentFromRetrieveAndList() throws InterruptedException {
        SessionState shortLived = session(id(), "ttl-user", "ttl-project");
        SessionState longLived = session(id(), "ttl-user", "ttl-project");
        await(storage.storeSession(shortLived, SHORT_TTL));
        await(storage.storeSession(longLived, Duration.ofHours(1)));
        assertThat(await(storage.retrieveSession(shortLived.sessionId()))).isPresent();

        advance(SHORT_TTL.multipliedBy(3));

        assertThat(await(storage.retrieveSession(shortLived.sessionId()))).isEmpty();
        assertThat(await(storage.listSessions("ttl-user", null))).containsExactly(longLived.sessionId());
        assertThat(await(storage.listSessions(null, "ttl-project"))).containsExactly(longLived.sessionId());
        assertThat(await(storage.listSessions(null, null))).doesNotContain(shortLived.sessionId());
    }

    @Test
    void cleanupRemovesExpiredSessionsAndCountsThem() throws InterruptedException {
        List<String> live = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            await(storage.storeSession(session(id(), "cu" + i, "cp"), SHORT_TTL));
        }
        for (int i = 0; i < 2; i++) {
            SessionState state = session(id(), "cu" + i, "cp");
            live.add(state.sessionId());
            await(storage.storeSession(state, Duration.ofHours(1)));
        }

        advance(SHORT_TTL.multipliedBy(3));

        assertThat(await(storage.cleanupExpiredSessions())).isEqualTo(3);
        assertThat(await(storage.cleanupExpiredSessions())).isZero();
        assertThat(await(storage.listSessions(null, "cp"))).containsExactlyInAnyOrderElementsOf(live);
        for (String id : live) {
            assertThat(await(storage.retrieveSession(id))).isPresent();
        }
    }

    @Test
    void nonPositiveTtlIsRejected() {
        SessionState state = session(id(), "u", "p");
        assertThatThrownBy(() -> storage.storeSession(state, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> storage.storeSession(state, Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(await(storage.retrieveSession(state.sessionId()))).isEmpty();
    }

    // ---- listing ----

    @Test
    void listByUserProjectBothAndNeither() {
        SessionState a1 = session(id(), "alice", "p1");
        SessionState a2 = session(id(), "alice", "p2");
        SessionState b1 = session(id(), "bob", "p1");
        for (SessionState s : List.of(a1, a2, b1)) {
            await(storage.storeSession(s, null));
        }

        assertThat(await(storage.listSessions("alice", null))).containsExactlyInAnyOrder(a1.sessionId(), a2.sessionId());
        assertThat(await(storage.listSessions(null, "p1"))).containsExactlyInAnyOrder(a1.sessionId(), b1.sessionId());
        assertThat(await(storage.listSessions("alice", "p1"))).containsExactly(a1.sessionId());
        assertThat(await(storage.listSessions("bob", "p2"))).isEmpty();
        assertThat(await(storage.listSessions("nobody", null))).isEmpty();
        assertThat(await(storage.listSessions(null, null)))
                .containsExactlyInAnyOrder(a1.sessionId(), a2.sessionId(), b1.sessionId());
    }

    @Test
    void listAfterDeleteAndAfterMovingASessionToAnotherUser() {
        SessionState a = session(id(), "carol", "px");
        SessionState b = session(id(), "carol", "px");
        await(storage.storeSession(a, null));
        await(storage.storeSession(b, null));

        await(storage.deleteSession(a.sessionId()));
        await(storage.storeSession(b.toBuilder().userId("dave").projectId("py").build(), null));

        assertThat(await(storage.listSessions("carol", null))).isEmpty();
        assertThat(await(storage.listSessions(null, "px"))).isEmpty();
        assertThat(await(storage.listSessions("dave", "py"))).containsExactly(b.sessionId());
    }

    @Test
    void userAndProjectIdsWithAwkwardCharactersWork() {
        SessionState state = session(id(), "user:with/colons {and} spaces*?", "project\u00e9:{x}");
        await(storage.storeSession(state, null));

        assertThat(await(storage.listSessions("user:with/colons {and} spaces*?", "project\u00e9:{x}")))
                .containsExactly(state.sessionId());
        assertThat(await(storage.listSessions("user:with", null))).isEmpty();
    }

    // ---- compare-and-set ----

    @Test
    void replaceSucceedsOnTheStoredVersionAndFailsOnAStaleOne() {
        SessionState v1 = session(id(), "u", "p").toBuilder().version(1).build();
        await(storage.storeSession(v1, null));
        SessionState v2 = v1.toBuilder().version(2).permissions(List.of("v2")).build();

        assertThat(await(storage.replaceSession(v2, 1, null))).isTrue();
        assertThat(await(storage.replaceSession(v2.toBuilder().version(3).permissions(List.of("stale")).build(), 1, null)))
                .isFalse();
        assertThat(stored(v1.sessionId()).permissions()).containsExactly("v2");
        assertThat(stored(v1.sessionId()).version()).isEqualTo(2);
    }

    @Test
    void aLosingReplaceNeverHidesTheSessionFromListings() {
        SessionState v1 = session(id(), "cas-user", "cas-project").toBuilder().version(1).build();
        await(storage.storeSession(v1, Duration.ofDays(7)));
        SessionState loser = v1.toBuilder().version(9).build();

        assertThat(await(storage.replaceSession(loser, 8, Duration.ofMinutes(1)))).isFalse();
        clock.advance(Duration.ofMinutes(2)); // past the loser's expiry, far before the session's

        assertThat(await(storage.retrieveSession(v1.sessionId()))).isPresent();
        assertThat(await(storage.listSessions("cas-user", null))).containsExactly(v1.sessionId());
        assertThat(await(storage.listSessions(null, "cas-project"))).containsExactly(v1.sessionId());
        await(storage.cleanupExpiredSessions());
        assertThat(await(storage.listSessions("cas-user", null))).containsExactly(v1.sessionId());
        assertThat(await(storage.listSessions(null, "cas-project"))).containsExactly(v1.sessionId());
    }

    @Test
    void replaceOfAnExpiredSessionFails() throws InterruptedException {
        SessionState v1 = session(id(), "u", "p").toBuilder().version(1).build();
        await(storage.storeSession(v1, SHORT_TTL));
        advance(SHORT_TTL.multipliedBy(3));

        assertThat(await(storage.replaceSession(v1.toBuilder().version(2).build(), 1, null))).isFalse();
        assertThat(await(storage.retrieveSession(v1.sessionId()))).isEmpty();
    }

    @Test
    @Timeout(60)
    void concurrentReplacesOfOneVersionHaveExactlyOneWinner() throws Exception {
        SessionState v1 = session(id(), "u", "p").toBuilder().version(1).build();
        await(storage.storeSession(v1, null));
        int writers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                List<String> permissions = List.of("writer-" + i);
                results.add(pool.submit(() -> {
                    start.await();
                    return await(storage.replaceSession(v1.toBuilder().version(2).permissions(permissions).build(), 1, null));
                }));
            }
            start.countDown();
            int winners = 0;
            for (Future<Boolean> result : results) {
                winners += result.get(30, TimeUnit.SECONDS) ? 1 : 0;
            }
            assertThat(winners).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Timeout(240)
    void concurrentManagerUpdatesAreNeverLost() throws Exception {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String id = await(manager.createSession("counter-user", "counter-project", Map.of("count", 0), null));
        int threads = 8;
        int incrementsPerThread = 250;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < incrementsPerThread; i++) {
                        Optional<SessionState> updated = await(manager.updateSession(id, state -> {
                            return state.toBuilder()
                                    .putMetadata("count", state.metadata().get("count").asInt() + 1).build();
                        }));
                        assertThat(updated).isPresent();
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : done) {
                future.get(200, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        SessionState end = stored(id);
        assertThat(end.metadata().get("count").asInt()).isEqualTo(threads * incrementsPerThread);
        assertThat(end.version()).isEqualTo(1 + threads * incrementsPerThread);
    }

    /**
     * Another storage over the same store as {@link #storage} (another process, in effect), used to
     * race managers against each other. The default is {@link #storage} itself: in-process stores
     * cannot be opened twice.
     *
     * @return the storage
     */
    protected SessionStorage anotherStorageOnTheSameStore() {
        return storage;
    }

    @Test
    @Timeout(300)
    void managersOnSeveralStoragesRaceThroughCompareAndSetAndLoseNothing() throws Exception {
        int managers = 4;
        int threadsPerManager = 2;
        int incrementsPerThread = 250;
        java.util.concurrent.atomic.AtomicInteger conflicts = new java.util.concurrent.atomic.AtomicInteger();
        List<SessionManager> all = new ArrayList<>();
        for (int m = 0; m < managers; m++) {
            SessionStorage own = m == 0 ? storage : anotherStorageOnTheSameStore();
            if (own != storage) {
                closeAfterTest(own);
            }
            all.add(new SessionManager(new ConflictCountingStorage(own, conflicts), SessionBuddyConfig.defaults(), clock));
        }
        String id = await(all.get(0).createSession("race-user", "race-project", Map.of("count", 0), null));
        ExecutorService pool = Executors.newFixedThreadPool(managers * threadsPerManager);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (SessionManager manager : all) {
                for (int t = 0; t < threadsPerManager; t++) {
                    done.add(pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < incrementsPerThread; i++) {
                            assertThat(await(manager.updateSession(id, state -> {
                                return state.toBuilder()
                                        .putMetadata("count", state.metadata().get("count").asInt() + 1).build();
                            }))).isPresent();
                        }
                        return null;
                    }));
                }
            }
            start.countDown();
            for (Future<?> future : done) {
                future.get(280, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        int total = managers * threadsPerManager * incrementsPerThread;
        assertThat(stored(id).metadata().get("count").asInt()).isEqualTo(total);
        assertThat(conflicts.get()).as("compare-and-set conflicts between the managers").isPositive();
    }

    // ---- paged listings ----

    @Test
    void pagesListEverySessionOnceInIdOrder() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 23; i++) {
            SessionState state = session(id(), "pager", i % 2 == 0 ? "even" : "odd");
            ids.add(state.sessionId());
            await(storage.storeSession(state, null));
        }
        ids.sort(null);

        List<String> walked = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            io.sessionbuddy.core.SessionPage page = await(storage.listSessions("pager", null, cursor, 5));
            assertThat(page.ids()).hasSizeLessThanOrEqualTo(5).isSorted();
            walked.addAll(page.ids());
            cursor = page.nextCursor();
            pages++;
        } while (cursor != null);

        assertThat(walked).containsExactlyElementsOf(ids);
        assertThat(pages).isEqualTo(5);
        assertThat(await(storage.listSessions("pager", "odd", null, 100)).ids()).hasSize(11).isSorted();
        io.sessionbuddy.core.SessionPage none = await(storage.listSessions("nobody-pages", null, null, 10));
        assertThat(none.ids()).isEmpty();
        assertThat(none.hasMore()).isFalse();
    }

    @Test
    void pagesFollowCodePointOrderWhichIsTheOrderOfTheIdsUtf8Bytes() {
        // String.compareTo would put the emoji (a surrogate pair) before U+FF5E; code points do not
        String prefix = id() + "-";
        List<String> expected = List.of(prefix + "a", prefix + "z", prefix + "\u00e9", prefix + "\uff5e",
                prefix + "\ud83d\ude00", prefix + "\ud83d\ude00x");
        List<String> shuffled = new ArrayList<>(expected);
        java.util.Collections.shuffle(shuffled, new java.util.Random(7));
        for (String sessionId : shuffled) {
            await(storage.storeSession(session(sessionId, "code-points", "p"), null));
        }
        List<String> walked = new ArrayList<>();
        String cursor = null;
        do {
            io.sessionbuddy.core.SessionPage page = await(storage.listSessions("code-points", null, cursor, 2));
            walked.addAll(page.ids());
            cursor = page.nextCursor();
        } while (cursor != null);
        assertThat(walked).containsExactlyElementsOf(expected);
        assertThat(await(storage.listSessions(null, "p", null, 10)).ids()).isSortedAccordingTo(
                io.sessionbuddy.core.SessionPage.ORDER);
    }

    @Test
    void aWalkUnderConcurrentWritesListsEverySessionThatLivedThroughItExactlyOnce() {
        List<String> steady = new ArrayList<>();
        List<String> doomed = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            SessionState state = session(id(), "walker", "p");
            (i % 3 == 0 ? doomed : steady).add(state.sessionId());
            await(storage.storeSession(state, null));
        }
        List<String> walked = new ArrayList<>();
        String cursor = null;
        int page = 0;
        do {
            io.sessionbuddy.core.SessionPage next = await(storage.listSessions("walker", null, cursor, 4));
            walked.addAll(next.ids());
            cursor = next.nextCursor();
            // between pages: one session goes, one comes, one steady session is updated
            if (page < doomed.size()) {
                await(storage.deleteSession(doomed.get(page)));
            }
            await(storage.storeSession(session(id(), "walker", "p"), null));
            String updated = steady.get(page % steady.size());
            await(storage.storeSession(stored(updated).toBuilder().version(stored(updated).version() + 1).build(), null));
            page++;
        } while (cursor != null);

        assertThat(walked).doesNotHaveDuplicates().containsAll(steady);
    }

    @Test
    void aBadCursorOrLimitIsRefusedAtTheCall() {
        assertThatThrownBy(() -> storage.listSessions("u", null, "not-a-cursor", 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cursor");
        assertThatThrownBy(() -> storage.listSessions("u", null, null, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> storage.listSessions("u", null, null, 10_001))
                .isInstanceOf(IllegalArgumentException.class);
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        assertThatThrownBy(() -> manager.listSessions("u", null, "sb1.!!", 10)).isInstanceOf(IllegalArgumentException.class);
        String id = await(manager.createSession("paged-manager", "p"));
        assertThat(await(manager.listSessions("paged-manager", null, null, 10)).ids()).containsExactly(id);
    }

    // ---- touch ----

    @Test
    void aTouchMovesTheExpiryAndNothingElse() {
        SessionState state = fullSession(id(), "touch-user", "touch-project");
        await(storage.storeSession(state, Duration.ofHours(1)));
        SessionState before = stored(state.sessionId());

        assertThat(await(storage.touchSession(state.sessionId(), Duration.ofHours(5)))).isTrue();

        SessionState after = stored(state.sessionId());
        assertThat(after.expiresAt()).isCloseTo(clock.instant().plus(Duration.ofHours(5)), within(Duration.ofSeconds(2)));
        assertThat(after.withExpiresAt(null)).isEqualTo(before.withExpiresAt(null));
        assertThat(await(storage.retrieveSessions(List.of(state.sessionId()))).get(state.sessionId()).expiresAt())
                .isEqualTo(after.expiresAt());
        assertThat(await(storage.listSessions("touch-user", null))).containsExactly(state.sessionId());
        assertThat(await(storage.touchSession("no-such-session", Duration.ofHours(1)))).isFalse();
        assertThatThrownBy(() -> storage.touchSession(state.sessionId(), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> storage.touchSession("", Duration.ofHours(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aStoreAfterATouchSetsItsOwnExpiryEvenWithTheSameVersion() {
        SessionState state = session(id(), "retouch", "p");
        await(storage.storeSession(state, Duration.ofHours(1)));
        assertThat(await(storage.touchSession(state.sessionId(), Duration.ofHours(5)))).isTrue();

        await(storage.storeSession(state, Duration.ofHours(2)));

        assertThat(stored(state.sessionId()).expiresAt())
                .isCloseTo(clock.instant().plus(Duration.ofHours(2)), within(Duration.ofSeconds(2)));
        SessionState current = stored(state.sessionId());
        assertThat(await(storage.replaceSession(current, current.version(), Duration.ofMinutes(30)))).isTrue();
        assertThat(stored(state.sessionId()).expiresAt())
                .isCloseTo(clock.instant().plus(Duration.ofMinutes(30)), within(Duration.ofSeconds(2)));
    }

    @Test
    void aTouchThatShortensTheLifeEndsItForReadsListingsAndCleanup() throws InterruptedException {
        SessionState state = session(id(), "short-touch", "short-touch-project");
        SessionState other = session(id(), "short-touch", "short-touch-project");
        await(storage.storeSession(state, Duration.ofHours(1)));
        await(storage.storeSession(other, Duration.ofHours(1)));

        assertThat(await(storage.touchSession(state.sessionId(), SHORT_TTL))).isTrue();
        advance(SHORT_TTL.multipliedBy(3));

        assertThat(await(storage.retrieveSession(state.sessionId()))).isEmpty();
        assertThat(await(storage.touchSession(state.sessionId(), Duration.ofHours(1)))).isFalse();
        assertThat(await(storage.listSessions("short-touch", null))).containsExactly(other.sessionId());
        assertThat(await(storage.listSessions(null, "short-touch-project"))).containsExactly(other.sessionId());
        await(storage.cleanupExpiredSessions());
        assertThat(await(storage.retrieveSession(other.sessionId()))).isPresent();
    }

    @Test
    void theManagersTouchKeepsTheSessionAndAnUpdateAfterItKeepsTheTouchedExpiry() {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String id = await(manager.createSession("mt-user", "mt-project", Map.of("n", 1), Duration.ofHours(1)));
        SessionState before = stored(id);

        assertThat(await(manager.touch(id, Duration.ofHours(6)))).isTrue();
        assertThat(stored(id).version()).isEqualTo(before.version());
        assertThat(stored(id).lastActivity()).isEqualTo(before.lastActivity());
        assertThat(await(manager.updateSession(id, Map.of("permissions", List.of("p")), null))).isTrue();

        assertThat(stored(id).expiresAt()).isCloseTo(clock.instant().plus(Duration.ofHours(6)), within(Duration.ofSeconds(2)));
        assertThat(stored(id).version()).isEqualTo(before.version() + 1);
    }

    @Test
    void withRefreshTtlOnReadAReadGivesTheSessionTheDefaultTtlAgain() throws InterruptedException {
        SessionManager sliding = new SessionManager(storage, SessionBuddyConfig.defaults().withRefreshTtlOnRead(true),
                clock);
        String id = await(sliding.createSession("slide-user", "slide-project", Map.of("n", 1), Duration.ofMinutes(5)));
        SessionState before = stored(id);
        advance(Duration.ofMillis(50));

        SessionState read = await(sliding.getSession(id)).orElseThrow();

        Instant expected = clock.instant().plus(SessionBuddyConfig.DEFAULT_TTL);
        assertThat(read.expiresAt()).isCloseTo(expected, within(Duration.ofSeconds(2)));
        assertThat(stored(id).expiresAt()).isCloseTo(expected, within(Duration.ofSeconds(2)));
        assertThat(read.version()).isEqualTo(before.version());
        assertThat(read.withExpiresAt(null)).isEqualTo(before.withExpiresAt(null));
        assertThat(await(sliding.getSession("no-such-session"))).isEmpty();
        String moved = await(sliding.rotateSessionId(id)).orElseThrow();
        assertThat(await(sliding.getSession(id))).isEmpty();
        assertThat(await(sliding.getSession(moved))).isPresent();
    }

    // ---- session id rotation ----

    @Test
    void rotatingASessionIdMovesTheSessionAndRetiresTheOldId() {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String old = await(manager.createSession("rot-user", "rot-project", Map.of("theme", "dark"), Duration.ofHours(2)));
        assertThat(await(manager.updateSession(old, Map.of("permissions", List.of("admin")), null))).isTrue();
        SessionState before = stored(old);

        String moved = await(manager.rotateSessionId(old)).orElseThrow();

        assertThat(moved).isNotEqualTo(old);
        SessionState after = await(manager.getSession(moved)).orElseThrow();
        assertThat(after.userId()).isEqualTo("rot-user");
        assertThat(after.projectId()).isEqualTo("rot-project");
        assertThat(after.metadata().get("theme").asText()).isEqualTo("dark");
        assertThat(after.permissions()).containsExactly("admin");
        assertThat(after.createdAt()).isEqualTo(before.createdAt());
        assertThat(after.expiresAt()).isCloseTo(before.expiresAt(), within(Duration.ofSeconds(2)));
        assertThat(await(manager.getSession(old))).isEmpty();
        assertThat(await(manager.getSessions(List.of(old, moved))).keySet()).containsExactly(moved);
        assertThat(await(manager.listUserSessions("rot-user"))).containsExactly(moved);
        assertThat(await(manager.listProjectSessions("rot-project"))).containsExactly(moved);
        assertThat(await(manager.listUserSessionStates("rot-user"))).extracting(SessionState::sessionId)
                .containsExactly(moved);

        Throwable late = failureOf(() -> manager.updateSession(old, Map.of("permissions", List.of()), null));
        assertThat(late).isInstanceOf(io.sessionbuddy.core.SessionMovedException.class).hasMessageContaining(moved);
        assertThat(((io.sessionbuddy.core.SessionMovedException) late).newSessionId()).isEqualTo(moved);
        assertThat(failureOf(() -> manager.rotateSessionId(old)))
                .isInstanceOf(io.sessionbuddy.core.SessionMovedException.class);
        assertThat(await(storage.touchSession(old, Duration.ofDays(3)))).as("a rotation's marker is not extended")
                .isFalse();
        assertThat(await(manager.touch(old, Duration.ofDays(3)))).isFalse();
        assertThat(await(manager.updateSession(moved, Map.of("permissions", List.of("user")), null))).isTrue();
        assertThat(await(manager.rotateSessionId("never-there"))).isEmpty();
    }

    @Test
    void aNewSessionsStoreIsAStoreAndStillReplacesARecordOfItsId() {
        SessionState first = fullSession(id(), "new-user-a", "new-project-a");
        assertThat(await(storage.storeNewSession(first, Duration.ofHours(1)))).isTrue();
        assertThat(withoutExpiry(stored(first.sessionId()))).isEqualTo(withoutExpiry(first));
        assertThat(await(storage.listSessions("new-user-a", null))).containsExactly(first.sessionId());

        // over a record of another owner (storeNewSession promises a store, whatever is there)
        SessionState second = session(first.sessionId(), "new-user-b", "new-project-b");
        assertThat(await(storage.storeNewSession(second, Duration.ofHours(1)))).isTrue();
        assertThat(stored(first.sessionId()).userId()).isEqualTo("new-user-b");
        assertThat(await(storage.listSessions("new-user-b", null))).containsExactly(first.sessionId());
        assertThat(await(storage.listSessions(null, "new-project-b"))).containsExactly(first.sessionId());
        assertThat(await(storage.listSessions("new-user-a", null))).as("the previous owner's entry is not listed")
                .isEmpty();
        assertThat(await(storage.listSessions(null, "new-project-a"))).isEmpty();

        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String created = await(manager.createSession("new-user-c", "new-project-c", Map.of("k", "v"), null));
        assertThat(await(manager.getSession(created)).orElseThrow().metadata().get("k").asText()).isEqualTo("v");
        assertThat(await(manager.listUserSessions("new-user-c"))).containsExactly(created);
    }

    @Test
    void cleanupCountsExpiredSessionsNotTheMarkersOfRotations() throws InterruptedException {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String old = await(manager.createSession("rot-user", "rot-project", null, Duration.ofDays(1)));
        String moved = await(manager.rotateSessionId(old)).orElseThrow();
        String shortLived = await(manager.createSession("rot-user", "rot-project", null, SHORT_TTL));
        if (serverOwnsTime()) {
            // the marker lives at least a minute of real time: only the short session can expire here
            advance(SHORT_TTL.multipliedBy(3));
            assertThat(await(storage.cleanupExpiredSessions())).isEqualTo(1);
        } else {
            advance(Duration.ofHours(1)); // past the marker's time to live, within the moved session's
            assertThat(await(storage.cleanupExpiredSessions())).as("the short session, not the marker").isEqualTo(1);
        }
        assertThat(await(manager.getSession(moved))).isPresent();
        assertThat(await(manager.getSession(shortLived))).isEmpty();
        assertThat(await(storage.cleanupExpiredSessions())).isZero();
    }

    @Test
    @Timeout(300)
    void anUpdateOfTheOldIdRacingARotationIsCarriedOverOrFailsNamingTheNewId() throws Exception {
        SessionStorage other = anotherStorageOnTheSameStore();
        if (other != storage) {
            closeAfterTest(other);
        }
        for (int round = 0; round < 5; round++) {
            long delayMillis = round * 3L;
            SessionManager rotator = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
            SessionManager writer = new SessionManager(other, SessionBuddyConfig.defaults(), clock);
            String old = await(rotator.createSession("race-rot", "p", Map.of("count", 0), null));
            java.util.concurrent.atomic.AtomicInteger landed = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicReference<String> namedNewId = new java.util.concurrent.atomic.AtomicReference<>();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                CountDownLatch start = new CountDownLatch(1);
                Future<?> writes = pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < 200 && namedNewId.get() == null; i++) {
                        try {
                            if (await(writer.updateSession(old, state -> state.toBuilder()
                                    .putMetadata("count", state.metadata().get("count").asInt() + 1).build()))
                                    .isPresent()) {
                                landed.incrementAndGet();
                            }
                        } catch (RuntimeException e) {
                            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                            if (!(cause instanceof io.sessionbuddy.core.SessionMovedException movedAway)) {
                                throw e;
                            }
                            namedNewId.set(movedAway.newSessionId());
                        }
                        Thread.sleep(1); // a request's pace, not a tight loop (which a rotation may never get past)
                    }
                    return null;
                });
                Future<Optional<String>> rotation = pool.submit(() -> {
                    start.await();
                    Thread.sleep(delayMillis);
                    return await(rotator.rotateSessionId(old));
                });
                start.countDown();
                String moved = rotation.get(280, TimeUnit.SECONDS).orElseThrow();
                writes.get(280, TimeUnit.SECONDS);
                if (namedNewId.get() != null) {
                    assertThat(namedNewId.get()).isEqualTo(moved);
                }
                assertThat(stored(moved).metadata().get("count").asInt())
                        .as("round %d: every update that was acknowledged is in the moved session", round)
                        .isEqualTo(landed.get());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    // ---- the manager's TTL rules on this backend ----

    @Test
    void managerUpdateKeepsTheRemainingTtlAndTouchExtendsIt() throws InterruptedException {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String id = await(manager.createSession("u", "p", Map.of(), Duration.ofHours(1)));
        Instant firstExpiry = stored(id).expiresAt();

        advance(Duration.ofMillis(200));
        assertThat(await(manager.updateSession(id, Map.of("permissions", List.of("x")), null))).isTrue();
        SessionState updated = stored(id);
        assertThat(updated.expiresAt()).isCloseTo(firstExpiry, within(Duration.ofSeconds(2)));
        assertThat(updated.permissions()).containsExactly("x");
        assertThat(updated.version()).isEqualTo(2);
        assertThat(updated.lastActivity()).isAfter(updated.createdAt());

        assertThat(await(manager.touch(id, Duration.ofHours(5)))).isTrue();
        assertThat(stored(id).expiresAt()).isCloseTo(clock.instant().plus(Duration.ofHours(5)), within(Duration.ofSeconds(2)));
        assertThat(await(manager.updateSession("absent-session", Map.of("permissions", List.of()), null))).isFalse();
    }

    @Test
    void badValuesThrowAtTheCallBeforeTheStoreIsTouched() {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String id = await(manager.createSession("shape-user", "shape-project", Map.of("n", 1), null));
        Map<String, Object> deep = new java.util.HashMap<>();
        Map<String, Object> level = deep;
        for (int i = 0; i < 5000; i++) {
            Map<String, Object> next = new java.util.HashMap<>();
            level.put("k", next);
            level = next;
        }
        Map<String, Object> tooDeep = deep;

        assertThatThrownBy(() -> manager.updateSession(id, Map.of("permissions", "admin"), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("session field 'permissions' must be a list of strings, was a string");
        assertThatThrownBy(() -> manager.updateSession(id, Map.of("metadata", List.of(1)), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'metadata' must be a JSON object");
        assertThatThrownBy(() -> manager.updateSession(id, Map.of("metadata", tooDeep), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested deeper than 1000");
        assertThatThrownBy(() -> manager.updateSession(id, Map.of("metadata", Map.of("x", Double.NaN)), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        assertThatThrownBy(() -> manager.createSession("u", "p", tooDeep, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nested deeper than 1000");
        assertThatThrownBy(() -> manager.createSession("u", "p", Map.of("k\uD83D", 1), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("surrogate");
        assertThat(stored(id).version()).isEqualTo(1);
        assertThat(stored(id).metadata().get("n").asInt()).isEqualTo(1);
    }

    @Test
    void managerRejectsUnknownUpdateFields() {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        String id = await(manager.createSession("u", "p"));

        assertThatThrownBy(() -> manager.updateSession(id, Map.of("no_such_field", 1), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no_such_field");
        assertThat(stored(id).version()).isEqualTo(1);
    }

    // ---- invalid input ----

    @Test
    void invalidIdsAreRejectedBeforeTouchingTheStore() {
        List<String> invalid = List.of("", "a".repeat(SessionIds.MAX_UTF8_BYTES + 1), "é".repeat(257), "a\nb",
                "tab\there", "nul\u0000", "../\u0000x", "del\u007f", "c1\u0085", "lone \ud800", "cr\r");
        for (String id : invalid) {
            assertThatThrownBy(() -> storage.retrieveSession(id)).as("retrieve %s", id)
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> storage.deleteSession(id)).as("delete %s", id)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> storage.retrieveSession(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> storage.storeSession(null, null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> session("nul\u0000", "u", "p")).isInstanceOf(IllegalArgumentException.class);
        assertThat(await(storage.listSessions(null, null))).isEmpty();
    }

    /**
     * Every id the original Python store accepted (and the ones that would trick a naive mapping to
     * keys, paths or object names): stored, read back by the same id, listed, kept apart from ids that
     * differ only in case, and deleted.
     */
    @Test
    void everyIdOfAtMost512BytesWithoutControlCharactersIsStoredAndFoundByItself() {
        List<String> ids = List.of("sess 42", "ünïcødé-session", "x".repeat(129), "proj:1:abc", "../x", "..", ".",
                "../../etc/passwd", "a/b", "a\\b", "C:\\x", "{tag}", "}{", "{", "%7B", "%", "~x", "~~", "Sess-A",
                "sess-a", "CASE", "case", "日".repeat(170) + "ab", "é".repeat(60), "é".repeat(61), "🎉 emoji",
                "with.json", "x.tmp", "a.id", ".index", ".lock", "trailing.", " lead", "*?[]", "line\u2028sep",
                "\u202eright-to-left");
        for (int i = 0; i < ids.size(); i++) {
            SessionState state = session(ids.get(i), "ids-user", "ids-project-" + (i % 2)).toBuilder()
                    .metadata(Map.of("n", i)).build();
            await(storage.storeSession(state, null));
        }
        for (int i = 0; i < ids.size(); i++) {
            SessionState read = stored(ids.get(i));
            assertThat(read.sessionId()).as("id %s", ids.get(i)).isEqualTo(ids.get(i));
            assertThat(read.metadata().get("n").asInt()).as("content of %s", ids.get(i)).isEqualTo(i);
        }
        assertThat(await(storage.listStoredSessionIds())).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(await(storage.listSessions("ids-user", null))).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(await(storage.listSessions(null, "ids-project-1"))).hasSize(ids.size() / 2);
        assertThat(await(storage.retrieveSession("sess-A"))).as("not found by another case").isEmpty();
        for (String id : ids) {
            assertThat(await(storage.deleteSession(id))).as("delete %s", id).isTrue();
        }
        assertThat(await(storage.listStoredSessionIds())).isEmpty();
        assertThat(await(storage.listSessions("ids-user", null))).isEmpty();
    }

    @Test
    void theLongestValidIdWorks() {
        for (String longest : List.of("A-z.0_9".repeat(80).substring(0, SessionIds.MAX_UTF8_BYTES),
                "日".repeat(170) + "ab", "🎉".repeat(128))) {
            SessionState state = session(longest, "u", "p");
            await(storage.storeSession(state, null));
            assertThat(stored(longest).sessionId()).isEqualTo(longest);
            assertThat(await(storage.listSessions("u", null))).contains(longest);
        }
    }

    // ---- observers and session events ----

    /** Records what an observer is told. */
    protected static final class RecordingObserver implements io.sessionbuddy.core.SessionObserver {
        /** {@code operation:outcome} of each operation, in order of completion. */
        public final List<String> outcomes = java.util.Collections.synchronizedList(new ArrayList<>());
        /** {@code id|user|project} of each expired session. */
        public final List<String> expired = java.util.Collections.synchronizedList(new ArrayList<>());
        /** Reasons of damaged records. */
        public final List<String> damaged = java.util.Collections.synchronizedList(new ArrayList<>());
        /** {@code json:record} sizes of encoded records. */
        public final List<int[]> sizes = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public Timing start(String backend, Operation operation) {
            return (outcome, error) -> outcomes.add(operation.tag() + ":" + outcome.tag());
        }

        @Override
        public void sessionExpired(String backend, String sessionId, String userId, String projectId) {
            expired.add(sessionId + "|" + userId + "|" + projectId);
        }

        @Override
        public void damagedRecord(String backend, io.sessionbuddy.core.CorruptSessionException.Reason reason) {
            damaged.add(reason.name());
        }

        @Override
        public void recordEncoded(String backend, int jsonBytes, int recordBytes) {
            sizes.add(new int[] {jsonBytes, recordBytes});
        }
    }

    @Test
    void observersHearEachOperationWithItsOutcomeAndEachExpiredSessionOnce() throws InterruptedException {
        RecordingObserver observer = new RecordingObserver();
        assertThat(storage.addObserver(observer)).isTrue();
        SessionState state = session(id(), "obs-user", "obs-project");
        SessionState lasting = session(id(), "obs-user", "obs-project");
        await(storage.storeSession(state, SHORT_TTL));
        await(storage.storeSession(lasting, Duration.ofHours(1)));
        await(storage.retrieveSession(state.sessionId()));
        await(storage.retrieveSession(id()));
        assertThat(await(storage.replaceSession(state, state.version() + 7, null))).isFalse();
        assertThat(await(storage.deleteSession(id()))).isFalse();
        await(storage.listSessions("obs-user", null));
        assertThatThrownBy(() -> storage.storeSession(session(id(), "u", "p").toBuilder()
                .metadata(Map.of("big", "x".repeat(storedFormat().maxSessionBytes()))).build(), null).join())
                .hasCauseInstanceOf(SessionTooLargeException.class);

        advance(SHORT_TTL.multipliedBy(3));
        assertThat(await(storage.cleanupExpiredSessions())).isEqualTo(1);
        assertThat(await(storage.cleanupExpiredSessions())).isZero();

        assertThat(observer.outcomes).containsSubsequence("store:success", "store:success", "retrieve:success",
                "retrieve:not_found", "replace:conflict", "delete:not_found", "list:success", "store:too_large",
                "cleanup:success", "cleanup:success");
        assertThat(observer.expired).hasSize(1);
        String[] expired = observer.expired.get(0).split("\\|", -1);
        assertThat(expired[0]).isEqualTo(state.sessionId());
        assertThat(expired[1]).as("the owner, when the store knows it").isIn("obs-user", "null");
        assertThat(expired[2]).isIn("obs-project", "null");
        for (String outcome : observer.outcomes) {
            assertThat(outcome).as("no id in what observers are told").doesNotContain(state.sessionId())
                    .doesNotContain("obs-user");
        }
        storage.removeObserver(observer);
        int seen = observer.outcomes.size();
        await(storage.retrieveSession(lasting.sessionId()));
        assertThat(observer.outcomes).hasSize(seen);
    }

    @Test
    @Timeout(30)
    void listenersHearCreatedUpdatedDeletedAndExpiredInOrderOnTheirOwnThread() throws Exception {
        SessionManager manager = new SessionManager(storage, SessionBuddyConfig.defaults(), clock);
        RecordingListener recording = new RecordingListener();
        java.util.concurrent.BlockingQueue<io.sessionbuddy.core.SessionEvent> events = recording.events;
        List<String> threads = recording.threads;
        manager.addListener(new io.sessionbuddy.core.SessionListener() {
            @Override
            public void sessionCreated(io.sessionbuddy.core.SessionEvent event) {
                throw new IllegalStateException("a listener's own bug");
            }
        });
        manager.addListener(recording);

        String id = await(manager.createSession("ev-user", "ev-project"));
        await(manager.updateSession(id, Map.of("metadata", Map.of("a", 1)), null));
        String shortLived = await(manager.createSession("ev-user", "ev-project", null, SHORT_TTL));
        assertThat(await(manager.deleteSession(id))).isTrue();
        assertThat(await(manager.deleteSession(id))).isFalse(); // nothing deleted: no event
        advance(SHORT_TTL.multipliedBy(3));
        assertThat(await(manager.cleanupSessions())).isEqualTo(1);

        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            io.sessionbuddy.core.SessionEvent event = events.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("event %d of 5 (seen %s)", i + 1, seen).isNotNull();
            assertThat(event.backend()).isEqualTo(storage.backendName());
            seen.add(event.type() + " " + event.sessionId());
            if (event.type() != io.sessionbuddy.core.SessionEvent.Type.DELETED
                    && event.type() != io.sessionbuddy.core.SessionEvent.Type.EXPIRED) {
                assertThat(event.userId()).isEqualTo("ev-user");
                assertThat(event.projectId()).isEqualTo("ev-project");
            }
            if (event.type() == io.sessionbuddy.core.SessionEvent.Type.UPDATED) {
                assertThat(event.version()).isEqualTo(2);
            }
        }
        assertThat(seen).containsExactly("CREATED " + id, "UPDATED " + id, "CREATED " + shortLived, "DELETED " + id,
                "EXPIRED " + shortLived);
        assertThat(threads).allMatch("session-buddy-events"::equals);
        assertThat(events.poll(200, TimeUnit.MILLISECONDS)).as("nothing more").isNull();
        assertThat(manager.removeListener(recording)).isTrue();
    }

    // ---- health and lifecycle ----

    @Test
    void aLiveStoreIsAvailable() {
        assertThat(await(storage.isAvailable())).isTrue();
    }

    @Test
    void operationsAfterCloseFailClearly() {
        SessionState state = session(id(), "u", "p");
        await(storage.storeSession(state, null));

        storage.close();
        storage.close();

        assertThat(failureOf(() -> storage.retrieveSession(state.sessionId())))
                .isInstanceOf(SessionStorageException.class).hasMessageContaining("closed");
        assertThat(failureOf(() -> storage.storeSession(state, null)))
                .isInstanceOf(SessionStorageException.class).hasMessageContaining("closed");
        assertThat(failureOf(() -> storage.listSessions(null, null)))
                .isInstanceOf(SessionStorageException.class).hasMessageContaining("closed");
        assertThat(await(storage.isAvailable())).isFalse();
    }

    // ---- stored format ----

    /**
     * A session whose JSON is several KiB, so that every compression applies to it.
     *
     * @param id the session id
     * @param user the user
     * @param project the project
     * @return the session
     */
    protected static SessionState largeSession(String id, String user, String project) {
        List<ObjectNode> turns = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            turns.add(JSON.createObjectNode().put("role", i % 2 == 0 ? "user" : "assistant")
                    .put("content", "Turn " + i + ": résumé of the plan, step " + i + " — ok ✓"));
        }
        return fullSession(id, user, project).toBuilder().conversationHistory(turns).build();
    }

    private SessionState oversized(SessionState base) {
        int limit = storedFormat().maxSessionBytes();
        return base.toBuilder().metadata(Map.of("blob", "x".repeat(limit))).build();
    }

    @Test
    void aWriteOverTheSizeLimitFailsAndKeepsTheStoredVersion() {
        SessionState original = fullSession(id(), "u", "p");
        await(storage.storeSession(original, null));

        SessionState huge = oversized(original);
        Throwable stored = failureOf(() -> storage.storeSession(huge, null));
        assertThat(stored).isInstanceOf(SessionTooLargeException.class)
                .hasMessageContaining(original.sessionId()).hasMessageContaining("max_session_bytes")
                .hasMessageContaining(Integer.toString(storedFormat().maxSessionBytes()));
        assertThat(((SessionTooLargeException) stored).size()).isGreaterThan(storedFormat().maxSessionBytes());
        Throwable replaced = failureOf(() -> storage.replaceSession(huge.toBuilder().version(8).build(), 7, null));
        assertThat(replaced).isInstanceOf(SessionTooLargeException.class);
        Throwable created = failureOf(() -> storage.storeSession(oversized(session(id(), "u", "p")), null));
        assertThat(created).isInstanceOf(SessionTooLargeException.class);

        assertThat(withoutExpiry(stored(original.sessionId()))).isEqualTo(withoutExpiry(original));
        assertThat(await(storage.listSessions("u", null))).containsExactly(original.sessionId());
    }

    @Test
    void aSessionJustUnderTheSizeLimitIsStored() {
        SessionState base = session(id(), "u", "p");
        int json = SessionJsonCodec.toBytes(base.toBuilder().metadata(Map.of("blob", "")).build()).length;
        // expires_at is stamped by the store: leave room for it
        int room = storedFormat().maxSessionBytes() - json - 64;
        SessionState big = base.toBuilder().metadata(Map.of("blob", "y".repeat(Math.min(room, 2_000_000)))).build();

        assertThat(await(storage.storeSession(big, null))).isTrue();
        assertThat(withoutExpiry(stored(big.sessionId()))).isEqualTo(withoutExpiry(big));
    }

    /**
     * {@code state} without its {@code expires_at} (stamped by the store).
     *
     * @param state a session
     * @return it without {@code expires_at}
     */
    protected static SessionState withoutExpiry(SessionState state) {
        return state.withExpiresAt(null);
    }

    private static TemporalUnitOffset within(Duration tolerance) {
        return Assertions.within(tolerance.toMillis(), ChronoUnit.MILLIS);
    }
}
