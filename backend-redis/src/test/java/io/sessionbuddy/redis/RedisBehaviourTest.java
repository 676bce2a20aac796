package io.sessionbuddy.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.SessionBuddy;
import io.sessionbuddy.spi.StorageProvider;
import io.sessionbuddy.spi.StorageProviders;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Redis-specific behaviour: outages, ACL login, index repair, namespaces, key layout, config. */
class RedisBehaviourTest {
    private static RedisTestServer server;

    @BeforeAll
    static void startServer() {
        server = RedisTestServer.start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static SessionState session(String id, String user) {
        return SessionState.builder(id, user, "proj").createdAt(Instant.parse("2024-01-01T00:00:00Z")).build();
    }

    private static SessionStorage open(RedisTestServer on, Map<String, Object> extra) {
        Map<String, Object> settings = new HashMap<>(Map.of("host", "127.0.0.1", "port", on.port()));
        settings.putAll(extra);
        return new RedisStorageProvider().create(BackendSettings.of("redis", settings));
    }

    private static Throwable failure(Runnable call) {
        try {
            call.run();
        } catch (CompletionException e) {
            return e.getCause();
        } catch (RuntimeException e) {
            return e;
        }
        throw new AssertionError("expected a failure");
    }

    @Test
    @Timeout(60)
    void aCheckpointClosesTheConnectionAndTheFirstCallAfterTheRestoreConnectsAgain() throws Exception {
        io.lettuce.core.RedisClient rawClient = io.lettuce.core.RedisClient.create(server.uri());
        try (RedisSessionStorage storage = RedisSessionStorage.builder().uri(server.uri()).build();
                var raw = rawClient.connect()) {
            storage.storeSession(session("before-snapshot", "u"), null).join();
            long clients = connectedClients(raw);

            storage.beforeCheckpoint(null);
            awaitClients(raw, clients - 1);
            storage.afterRestore(null);

            assertThat(storage.storeSession(session("after-restore", "u"), null).join()).isTrue();
            assertThat(storage.retrieveSession("before-snapshot").join()).isPresent();
            assertThat(storage.retrieveSession("after-restore").join()).isPresent();
            assertThat(storage.listSessions("u", null).join()).containsExactly("after-restore", "before-snapshot");
            awaitClients(raw, clients);
        } finally {
            rawClient.shutdown();
        }
    }

    private static long connectedClients(io.lettuce.core.api.StatefulRedisConnection<String, String> raw) {
        return raw.sync().info("clients").lines().filter(l -> l.startsWith("connected_clients:"))
                .mapToLong(l -> Long.parseLong(l.substring("connected_clients:".length()).trim())).findFirst()
                .orElseThrow();
    }

    private static void awaitClients(io.lettuce.core.api.StatefulRedisConnection<String, String> raw, long expected)
            throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (connectedClients(raw) != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(connectedClients(raw)).isEqualTo(expected);
    }

    @Test
    void poisonRecordsFailOnlyTheCallsThatReadThemAndListingAndCleanupGoOn() {
        try (SessionStorage storage = open(server, Map.of("namespace", "poison"))) {
            storage.storeSession(session("good", "alice"), Duration.ofMinutes(5)).join();
            storage.storeSession(session("no-project", "alice"), Duration.ofMinutes(5)).join();
            storage.storeSession(session("wrong-type", "alice"), Duration.ofMinutes(5)).join();
            storage.storeSession(session("bad-version", "alice"), Duration.ofMinutes(5)).join();
            server.withCommands(c -> c.hdel("poison:{no-project}", "p"));
            server.withCommands(c -> c.del("poison:{wrong-type}"));
            server.withCommands(c -> c.set("poison:{wrong-type}", "not a hash"));
            server.withCommands(c -> c.hset("poison:{bad-version}", "v", "garbage"));

            assertThat(storage.listSessions("alice", null).join()).contains("good", "bad-version")
                    .doesNotContain("wrong-type", "no-project");
            assertThat(storage.listSessions(null, "proj").join()).contains("good", "bad-version");
            assertThat(storage.listSessions(null, null).join()).contains("good");
            assertThat(storage.cleanupExpiredSessions().join()).isZero();
            // "cannot read" is not "gone": the entries of damaged records stay in the index
            assertThat(server.<List<String>>withCommands(c -> c.zrange("poison:idx:user:alice", 0, -1)))
                    .contains("wrong-type", "no-project");

            Throwable read = failure(() -> storage.retrieveSession("wrong-type").join());
            assertThat(read).isInstanceOf(io.sessionbuddy.core.CorruptSessionException.class)
                    .hasMessageContaining("[redis]").hasMessageContaining("not a hash");
            Throwable update = failure(() -> new io.sessionbuddy.core.SessionManager(storage)
                    .updateSession("bad-version", s -> s.toBuilder().permissions(List.of("x")).build()).join());
            assertThat(update).isInstanceOf(io.sessionbuddy.core.CorruptSessionException.class)
                    .hasMessageContaining("version field");
            assertThat(storage.retrieveSession("good").join()).isPresent();
        }
    }

    @Test
    void aLoneSurrogateInAUserIdIsRejectedBeforeTheStoreIsTouched() {
        assertThatThrownBy(() -> session("lone", "u\uD83D"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("user_id")
                .hasMessageContaining("surrogate");
    }

    @Test
    void decodingAndTheCallersCodeNeverRunOnLettucesEventLoop() {
        try (SessionStorage storage = open(server, Map.of("namespace", "threads"))) {
            storage.storeSession(session("t1", "u"), null).join();
            String decodedOn = storage.retrieveSession("t1").thenApply(found -> Thread.currentThread().getName()).join();
            String[] changedOn = new String[1];
            new io.sessionbuddy.core.SessionManager(storage).updateSession("t1", s -> {
                changedOn[0] = Thread.currentThread().getName();
                return s;
            }).join();

            assertThat(decodedOn).doesNotContain("lettuce").doesNotContain("EventLoop");
            assertThat(changedOn[0]).doesNotContain("lettuce").doesNotContain("EventLoop");
        }
    }

    @Test
    void serviceLoaderFindsTheRedisProvider() {
        assertThat(StorageProviders.discover()).extracting(StorageProvider::name).contains("redis");
    }

    @Test
    void keysFollowTheDocumentedLayout() {
        try (SessionStorage storage = open(server, Map.of("namespace", "layout"))) {
            storage.storeSession(session("abc", "alice"), Duration.ofMinutes(5)).join();

            assertThat(server.<String>withCommands(c -> c.type("layout:{abc}"))).isEqualTo("hash");
            assertThat(server.<List<String>>withCommands(c -> c.hkeys("layout:{abc}")))
                    .containsExactlyInAnyOrder("d", "v", "u", "p", "w", "e");
            assertThat(server.<String>withCommands(c -> c.hget("layout:{abc}", "e"))).isEmpty(); // set by a touch only
            assertThat(server.<Long>withCommands(c -> c.pttl("layout:{abc}"))).isBetween(1L, 300_000L);
            assertThat(server.<List<String>>withCommands(c -> c.zrange("layout:idx:user:alice", 0, -1))).containsExactly("abc");
            assertThat(server.<List<String>>withCommands(c -> c.zrange("layout:idx:project:proj", 0, -1))).containsExactly("abc");
            assertThat(server.<Long>withCommands(c -> c.pttl("layout:idx:user:alice")))
                    .isGreaterThan(RedisSessionStorage.INDEX_GRACE.toMillis());
        }
    }

    @Test
    void theOriginalsKeyPrefixBecomesTheNamespace() {
        try (SessionStorage storage = open(server, Map.of("key_prefix", "session_mgmt:"))) {
            storage.storeSession(session("k1", "u"), null).join();
            assertThat(server.<Long>withCommands(c -> c.exists("session_mgmt:{k1}"))).isEqualTo(1L);
        }
    }

    @Test
    void twoNamespacesOnOneServerDoNotSeeEachOther() {
        try (SessionStorage a = open(server, Map.of("namespace", "tenant-a"));
                SessionStorage b = open(server, Map.of("namespace", "tenant-b"))) {
            a.storeSession(session("shared-id", "same-user"), null).join();

            assertThat(b.retrieveSession("shared-id").join()).isEmpty();
            assertThat(b.listSessions("same-user", null).join()).isEmpty();
            assertThat(b.listSessions(null, null).join()).isEmpty();
            assertThat(b.deleteSession("shared-id").join()).isFalse();
            assertThat(a.listSessions("same-user", null).join()).containsExactly("shared-id");
        }
    }

    @Test
    void indexEntriesOfExpiredOrVanishedKeysAreRepaired() throws InterruptedException {
        try (SessionStorage storage = open(server, Map.of("namespace", "repair"))) {
            for (int i = 0; i < 3; i++) {
                storage.storeSession(session("exp" + i, "bob"), Duration.ofMillis(300)).join();
            }
            storage.storeSession(session("evicted", "bob"), Duration.ofHours(1)).join();
            storage.storeSession(session("live", "bob"), Duration.ofHours(1)).join();
            Thread.sleep(800);
            server.<Long>withCommands(c -> c.del("repair:{evicted}"));
            assertThat(server.<Long>withCommands(c -> c.zcard("repair:idx:user:bob"))).isEqualTo(5L);

            assertThat(storage.listSessions("bob", null).join()).containsExactly("live");
            assertThat(server.<List<String>>withCommands(c -> c.zrange("repair:idx:user:bob", 0, -1))).doesNotContain("evicted");

            assertThat(storage.cleanupExpiredSessions().join()).isEqualTo(3);
            assertThat(server.<List<String>>withCommands(c -> c.zrange("repair:idx:user:bob", 0, -1))).containsExactly("live");
            assertThat(server.<List<String>>withCommands(c -> c.zrange("repair:idx:project:proj", 0, -1))).containsExactly("live");
            assertThat(storage.cleanupExpiredSessions().join()).isZero();
        }
    }

    @Test
    @Timeout(90)
    void whileRedisIsDownCommandsFailWithinTheTimeoutAndAfterARestartTheyWorkAgain() {
        try (RedisTestServer own = RedisTestServer.start();
                SessionStorage storage = open(own, Map.of("timeout", "1s", "namespace", "outage"))) {
            storage.storeSession(session("before", "u"), null).join();

            own.stop();
            long start = System.nanoTime();
            Throwable error = failure(() -> storage.storeSession(session("during", "u"), null).join());
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

            assertThat(error).isInstanceOf(SessionStorageException.class).hasMessageContaining("[redis]");
            assertThat(elapsedMillis).isLessThan(5_000);
            assertThat(storage.isAvailable().join()).isFalse();

            own.restart();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            boolean back = false;
            while (!back && System.nanoTime() < deadline) {
                try {
                    storage.storeSession(session("after", "u"), null).join();
                    back = true;
                } catch (CompletionException e) {
                    RedisTestServer.sleep(200);
                }
            }
            assertThat(back).as("works again after Redis is back, without a new storage").isTrue();
            assertThat(storage.retrieveSession("after").join()).isPresent();
            assertThat(storage.isAvailable().join()).isTrue();
        }
    }

    @Test
    @Timeout(90)
    void openSucceedsWhileRedisIsDownAndTheStorageWorksOnceItIsUp() {
        try (RedisTestServer own = RedisTestServer.start()) {
            own.stop();
            try (SessionStorage storage = open(own, Map.of("timeout", "1s", "namespace", "coldstart"))) {
                assertThat(storage.isAvailable().join()).isFalse();
                long start = System.nanoTime();
                Throwable error = failure(() -> storage.storeSession(session("early", "u"), null).join());
                assertThat(error).isInstanceOf(SessionStorageException.class).hasMessageContaining("[redis]")
                        .hasMessageContaining("127.0.0.1:" + own.port());
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));

                own.restart();
                boolean up = false;
                for (int i = 0; i < 100 && !up; i++) {
                    up = storage.isAvailable().join();
                    if (!up) {
                        RedisTestServer.sleep(100);
                    }
                }
                assertThat(up).as("connected in the background once Redis is up, without reopening").isTrue();
                storage.storeSession(session("late", "u"), null).join();
                assertThat(storage.retrieveSession("late").join()).isPresent();
                assertThat(storage.listSessions("u", null).join()).containsExactly("late");
            }
        }
    }

    @Test
    @Timeout(60)
    void aWriteWhoseReplyIsLostIsSettledByTheManagerNeverAppliedTwice() throws Exception {
        try (ReplyDroppingProxy proxy = new ReplyDroppingProxy(server.port());
                SessionStorage storage = new RedisStorageProvider().create(BackendSettings.of("redis",
                        Map.of("host", "127.0.0.1", "port", proxy.port(), "namespace", "dropped", "timeout", "2s")))) {
            io.sessionbuddy.core.SessionManager manager = new io.sessionbuddy.core.SessionManager(storage);
            String id = manager.createSession("u", "p", Map.of("count", 0), null).join();
            manager.updateSession(id, Map.of("metadata", Map.of("count", 1)), null).join(); // loads the script

            // the write script of the next update runs on the server, but its reply never arrives
            proxy.dropReplyOfNext(RedisScripts.WRITE_WITH_INDEXES.sha1());
            SessionState updated = manager.updateSession(id, s -> s.toBuilder().metadata(Map.of("count",
                    s.metadata().get("count").asInt() + 1)).build()).join().orElseThrow();

            assertThat(proxy.dropped()).as("replies dropped").isEqualTo(1);
            SessionState stored = storage.retrieveSession(id).join().orElseThrow();
            assertThat(stored.metadata().get("count").asInt()).as("applied exactly once").isEqualTo(2);
            assertThat(stored.version()).isEqualTo(3);
            assertThat(updated.version()).isEqualTo(3);

            // straight through the storage: the client re-sends the write after reconnecting, and the
            // script recognises its own write id instead of reporting a conflict
            SessionState next = stored.toBuilder().version(4).build();
            proxy.dropReplyOfNext(RedisScripts.WRITE_WITH_INDEXES.sha1());
            assertThat(storage.replaceSession(next, 3, null).join()).isTrue();
            assertThat(proxy.dropped()).isEqualTo(2);
            assertThat(storage.retrieveSession(id).join().orElseThrow().version()).isEqualTo(4);

            // a reply that never comes (a frozen peer) ends in a timeout: the outcome is reported unknown
            proxy.holdRepliesFromNext(RedisScripts.WRITE_WITH_INDEXES.sha1());
            Throwable unknown = failure(() -> storage.replaceSession(next.toBuilder().version(5).build(), 4, null)
                    .join());
            assertThat(unknown).isInstanceOf(io.sessionbuddy.core.SessionOutcomeUnknownException.class)
                    .hasMessageContaining("[redis]").hasMessageContaining(id);
        }
    }

    @Test
    @Timeout(60)
    void anAclUserLogsInAndAWrongPasswordFailsWithoutShowingIt() {
        try (RedisTestServer acl = RedisTestServer.start("--user", "sessions", "on", ">Sup3r-s3cret", "~*", "&*",
                "+@all", "--user", "default", "off")) {
            try (SessionStorage storage = open(acl, Map.of("username", "sessions", "password", "Sup3r-s3cret"))) {
                storage.storeSession(session("acl", "u"), null).join();
                assertThat(storage.retrieveSession("acl").join()).isPresent();
                assertThat(storage.isAvailable().join()).isTrue();
            }

            // a generous timeout: on a loaded machine a 5 s connect could time out, and an open that
            // cannot reach the server opens anyway (connecting in the background) instead of failing
            Throwable wrong = failure(() -> open(acl, Map.of("username", "sessions", "password", "not-the-Sup3r-s3cret",
                    "timeout", "30s")));
            assertThat(wrong).isInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("127.0.0.1:" + acl.port())
                    .hasMessageNotContaining("not-the-Sup3r-s3cret").hasMessageNotContaining("Sup3r-s3cret");
            Throwable anonymous = failure(() -> open(acl, Map.of()).storeSession(session("x", "u"), null).join());
            assertThat(anonymous).isInstanceOf(SessionStorageException.class);
        }
    }

    @Test
    void theOriginalsAcbRedisConfigOpensThisBackend() {
        SessionBuddyConfig config = new ConfigLoader(Map.of(), Map.of()).parse("""
                { "storage_backend": "acb",
                  "backends": { "acb": { "cache_type": "redis", "namespace": "acb-ns" },
                                "redis": { "host": "127.0.0.1", "port": %d, "db": 0 } } }
                """.formatted(server.port()), "seed.json");

        try (SessionBuddy buddy = SessionBuddy.open(config)) {
            String id = buddy.manager().createSession("u", "p").join();
            assertThat(server.<Long>withCommands(c -> c.exists("acb-ns:{" + id + "}"))).isEqualTo(1L);
        }
    }

    @Test
    void badSettingsNameTheKeyAndNeverEchoAPassword() {
        assertThatThrownBy(() -> open(server, Map.of("port", 70000))).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("backends.redis.port");
        assertThatThrownBy(() -> open(server, Map.of("namespace", "a:b"))).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("backends.redis.namespace");
        try (SessionStorage unreachable = new RedisStorageProvider().create(BackendSettings.of("redis",
                Map.of("uri", "redis://:pa55word@127.0.0.1:1", "timeout", "300ms")))) {
            assertThat(failure(() -> unreachable.storeSession(session("x", "u"), null).join()))
                    .isInstanceOf(SessionStorageException.class).hasMessageContaining("127.0.0.1:1")
                    .hasMessageNotContaining("pa55word");
        }
        SessionBuddyConfig typo = new ConfigLoader(Map.of(), Map.of()).parse("""
                { "storage_backend": "redis", "backends": { "redis": { "host": "127.0.0.1", "port": %d, "hots": "x" } } }
                """.formatted(server.port()), "app.json");
        assertThatThrownBy(() -> SessionBuddy.open(typo)).isInstanceOf(SessionConfigException.class)
                .hasMessageContaining("backends.redis.hots");
    }
}
