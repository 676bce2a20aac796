package io.sessionbuddy.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sessionbuddy.core.format.Compression;
import io.sessionbuddy.core.config.ConfigLoader;
import io.sessionbuddy.core.SessionBuddyConfig;
import io.sessionbuddy.core.SessionConfigException;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.SessionStorage;
import io.sessionbuddy.core.SessionStorageException;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.spi.BackendSettings;
import io.sessionbuddy.spi.SessionBuddy;
import io.sessionbuddy.spi.StorageProvider;
import io.sessionbuddy.spi.StorageProviders;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/** S3-specific behaviour against the real S3Proxy server: config, errors, retries, sizes, layout. */
class S3BehaviourTest {
    private static S3TestServer server;

    @BeforeAll
    static void startServer() {
        server = S3TestServer.start();
        server.createBucket("sessions");
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static Map<String, Object> settings(Map<String, Object> extra) {
        Map<String, Object> settings = new HashMap<>(Map.of("bucket", "sessions",
                "endpoint", server.endpoint().toString(), "path_style", true, "region", "us-east-1",
                "access_key", S3TestServer.ACCESS_KEY, "secret_key", S3TestServer.SECRET_KEY));
        settings.putAll(extra);
        return settings;
    }

    private static SessionStorage open(Map<String, Object> extra) {
        return new S3StorageProvider().create(BackendSettings.of("s3", settings(extra)));
    }

    private static SessionState session(String id, String user) {
        return SessionState.builder(id, user, "proj").createdAt(Instant.parse("2024-01-01T00:00:00Z")).build();
    }

    private static List<String> keys(String prefix) {
        try (S3Client client = server.client()) {
            return client.listObjectsV2Paginator(b -> b.bucket("sessions").prefix(prefix)).contents().stream()
                    .map(S3Object::key).toList();
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(120)
    void openSucceedsWhileTheEndpointIsDownAndTheStorageWorksOnceItIsUp() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        try (SessionStorage storage = open(Map.of("endpoint", "http://127.0.0.1:" + port, "namespace", "coldstart",
                "max_attempts", 1, "timeout", "2s"))) {
            assertThat(storage.isAvailable().join()).isFalse();
            Throwable error = org.assertj.core.api.Assertions.catchThrowable(
                    () -> storage.storeSession(session("early", "u"), null).join());
            assertThat(error).isInstanceOf(java.util.concurrent.CompletionException.class);
            assertThat(error.getCause()).isInstanceOf(SessionStorageException.class).hasMessageContaining("[s3]")
                    .hasMessageNotContaining(S3TestServer.SECRET_KEY);

            try (S3FrontProxy up = new S3FrontProxy(server.directEndpoint(), port)) {
                assertThat(storage.isAvailable().join()).isTrue();
                storage.storeSession(session("late", "u"), null).join();
                assertThat(storage.retrieveSession("late").join()).isPresent();
                assertThat(storage.listSessions("u", null).join()).containsExactly("late");
            }
        }
    }

    @Test
    void aWriteThatLandedButWasAnsweredWithAnErrorIsAppliedOnce() {
        for (int attempts : new int[] {1, 3}) {
            try (SessionStorage storage = open(Map.of("namespace", "landed" + attempts, "max_attempts", attempts))) {
                io.sessionbuddy.core.SessionManager manager = new io.sessionbuddy.core.SessionManager(storage);
                String id = manager.createSession("u", "p", Map.of("count", 0), null).join();

                // stored by the server, answered 500: with 1 attempt the manager reads back and finds
                // its own write; with 3 the SDK's retry meets 412 and the write id tells it landed
                server.front().failAfterStoringNext(1);
                manager.updateSession(id, s -> s.toBuilder().metadata(Map.of("count",
                        s.metadata().get("count").asInt() + 1)).build()).join();

                SessionState stored = storage.retrieveSession(id).join().orElseThrow();
                assertThat(stored.metadata().get("count").asInt()).as("applied once, %d attempt(s)", attempts)
                        .isEqualTo(1);
                assertThat(stored.version()).isEqualTo(2);
            }
        }
        server.front().failAfterStoringNext(0);
    }

    @Test
    void aCheckpointClosesTheClientAndTheFirstCallAfterTheRestoreMakesANewOne() {
        try (S3SessionStorage storage = (S3SessionStorage) open(Map.of("namespace", "checkpoint"))) {
            storage.storeSession(session("before-snapshot", "u"), null).join();
            software.amazon.awssdk.services.s3.S3Client before = storage.heldClient();
            assertThat(before).isNotNull();

            storage.beforeCheckpoint(null);
            assertThat(storage.heldClient()).isNull();
            // a closed client refuses work (its timers are shut down, its connection pool too)
            assertThatThrownBy(() -> before.headBucket(b -> b.bucket("sessions"))).as("the old client is closed")
                    .isInstanceOfAny(IllegalStateException.class, java.util.concurrent.RejectedExecutionException.class);
            storage.afterRestore(null);

            assertThat(storage.storeSession(session("after-restore", "u"), null).join()).isTrue();
            assertThat(storage.heldClient()).isNotNull().isNotSameAs(before);
            assertThat(storage.retrieveSession("before-snapshot").join()).isPresent();
            assertThat(storage.retrieveSession("after-restore").join()).isPresent();
            assertThat(storage.listSessions("u", null).join()).containsExactly("after-restore", "before-snapshot");
        }
    }

    @Test
    void serviceLoaderFindsTheS3Provider() {
        assertThat(StorageProviders.discover()).extracting(StorageProvider::name).contains("s3");
    }

    @Test
    void objectsFollowTheDocumentedLayout() {
        try (SessionStorage storage = open(Map.of("prefix", "app", "namespace", "layout"))) {
            storage.storeSession(session("abc", "alice"), null).join();

            assertThat(keys("app/layout/")).containsExactlyInAnyOrder(
                    "app/layout/.probe/conditional-writes", // on endpoints other than AWS's (checked at start)
                    "app/layout/sessions/abc",
                    "app/layout/index/users/" + S3SessionStorage.hash("alice") + "/abc",
                    "app/layout/index/projects/" + S3SessionStorage.hash("proj") + "/abc");
            try (S3Client client = server.client()) {
                Map<String, String> metadata = client.headObject(b -> b.bucket("sessions").key("app/layout/sessions/abc"))
                        .metadata();
                assertThat(metadata).containsKeys("version", "expires-at", "user-hash", "project-hash");
            }
            storage.deleteSession("abc").join();
            assertThat(keys("app/layout/")).containsExactly("app/layout/.probe/conditional-writes");
        }
    }

    @Test
    void theOriginalsS3ConfigKeysWork() {
        SessionBuddyConfig config = new ConfigLoader(Map.of(), Map.of()).parse("""
                { "storage_backend": "s3",
                  "backends": { "s3": { "bucket_name": "sessions", "region": "us-east-1", "key_prefix": "sessions/",
                                        "access_key_id": "%s", "secret_access_key": "%s",
                                        "endpoint": "%s", "path_style": true } } }
                """.formatted(S3TestServer.ACCESS_KEY, S3TestServer.SECRET_KEY, server.endpoint()), "seed.json");

        try (SessionBuddy buddy = SessionBuddy.open(config)) {
            String id = buddy.manager().createSession("u", "p").join();
            assertThat(keys("sessions/default/sessions/")).contains("sessions/default/sessions/" + id);
        }
    }

    @Test
    void wrongCredentialsFailClearlyWithoutShowingTheSecret() {
        // checked by the probe's PUT (any endpoint but AWS's own), or by a HEAD of the bucket without it
        for (boolean probe : new boolean[] {true, false}) {
            assertThatThrownBy(() -> open(Map.of("secret_key", "WRONG-secret-value", "check_conditional_writes", probe)))
                    .isInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("bucket sessions").hasMessageContaining("access denied")
                    .hasMessageContaining(probe ? "s3:PutObject" : "s3:ListBucket")
                    .hasMessageNotContaining("WRONG-secret-value").hasMessageNotContaining(S3TestServer.SECRET_KEY);
        }
    }

    @Test
    void aMissingBucketFailsClearly() {
        for (boolean probe : new boolean[] {true, false}) {
            assertThatThrownBy(() -> open(Map.of("bucket", "no-such-bucket", "check_conditional_writes", probe)))
                    .isInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("no-such-bucket").hasMessageContaining("does not exist");
        }
    }

    @Test
    void slowDownAnswersAreRetried() {
        try (SessionStorage storage = open(Map.of("namespace", "retry", "max_attempts", 4))) {
            server.front().slowDownNext(2);
            int before = server.front().slowDownsSent();

            storage.storeSession(session("r1", "u"), null).join();

            assertThat(server.front().slowDownsSent() - before).isEqualTo(2);
            assertThat(storage.retrieveSession("r1").join()).isPresent();
        } finally {
            server.front().slowDownNext(0);
        }
    }

    @Test
    void persistentSlowDownFailsWithATypedError() {
        try (SessionStorage storage = open(Map.of("namespace", "retry2", "max_attempts", 2))) {
            server.front().slowDownNext(10);
            assertThatThrownBy(() -> storage.retrieveSession("r2").join()).hasCauseInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("503");
        } finally {
            server.front().slowDownNext(0);
        }
    }

    @Test
    void aFiveMebibyteSessionRoundTrips() {
        StringBuilder big = new StringBuilder(5 * 1024 * 1024);
        while (big.length() < 5 * 1024 * 1024) {
            big.append("conversation history line ").append(big.length()).append('\n');
        }
        SessionState state = session("big", "u").toBuilder().metadata(Map.of("history", big.toString())).build();
        // uncompressed, so that the full 5 MiB travels; the default 4 MiB limit raised to 8 MiB
        StoredFormat format = StoredFormat.defaults().withCompression(Compression.NONE)
                .withMaxSessionBytes(8 * 1024 * 1024);
        try (SessionStorage storage = new S3StorageProvider().create(new BackendSettings("s3",
                settings(Map.of("namespace", "big")), "<map>", SessionBuddyConfig.DEFAULT_TTL, Clock.systemUTC(),
                format))) {
            storage.storeSession(state, null).join();

            SessionState read = storage.retrieveSession("big").join().orElseThrow();
            assertThat(read.metadata().get("history").asText()).isEqualTo(big.toString());
            try (S3Client client = server.client()) {
                assertThat(client.getObjectAsBytes(h -> h.bucket("sessions").key("session-buddy/big/sessions/big"))
                        .asByteArray().length).isGreaterThan(5 * 1024 * 1024);
            }
        }
    }

    @Test
    void aBodyIsReadAtItsDeclaredLengthAndOneLongerThanDeclaredIsReadToTheBoundNotCut() throws Exception {
        byte[] body = new byte[5000];
        java.util.Arrays.fill(body, (byte) 7);
        assertThat(S3SessionStorage.readDeclared(new java.io.ByteArrayInputStream(body), 5000, 10_000))
                .isEqualTo(body);
        // declared shorter than it is: all of it, so the checksum (not a cut record) decides
        assertThat(S3SessionStorage.readDeclared(new java.io.ByteArrayInputStream(body), 4000, 10_000))
                .isEqualTo(body);
        // far longer than the bound: one byte over the bound, for the size check to refuse
        assertThat(S3SessionStorage.readDeclared(new java.io.ByteArrayInputStream(new byte[50_000]), 100, 10_000))
                .hasSize(10_001);
        assertThat(S3SessionStorage.readDeclared(new java.io.ByteArrayInputStream(body), 0, 10_000)).hasSize(5000);
    }

    @Test
    void onceTheProbeExistsAStartChecksConditionalWritesWithOnePutAndLeavesNoOtherObject() {
        List<String> requests = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (S3Client client = recordingClient(requests)) {
            S3SessionStorage.builder(client, "sessions").namespace("probing").build().close();
            assertThat(requests).as("the first start: the probe put twice (its put also proves the bucket)")
                    .containsExactly("PUT If-None-Match", "PUT If-None-Match");
            requests.clear();
            S3SessionStorage.builder(client, "sessions").namespace("probing").build().close();
            assertThat(requests).as("every later start").containsExactly("PUT If-None-Match");
            requests.clear();
            S3SessionStorage.builder(client, "sessions").namespace("probing").checkConditionalWrites(false).build()
                    .close();
            assertThat(requests).as("without the probe (as on AWS's own endpoints)").containsExactly("HEAD");
        }
        assertThat(keys("session-buddy/probing/")).containsExactly("session-buddy/probing/.probe/conditional-writes");

        // the probe in place does not let an endpoint that ignores If-None-Match through
        server.front().dropConditions(true);
        try {
            assertThatThrownBy(() -> open(Map.of("namespace", "probing")))
                    .isInstanceOf(SessionStorageException.class).hasMessageContaining("ignores conditional writes");
        } finally {
            server.front().dropConditions(false);
        }
    }

    @Test
    void anEndpointWithoutConditionalWritesIsRefusedUnlessSwitchedOff() {
        server.front().dropConditions(true);
        try {
            assertThatThrownBy(() -> open(Map.of("namespace", "nocas")))
                    .isInstanceOf(SessionStorageException.class)
                    .hasMessageContaining("ignores conditional writes").hasMessageContaining("conditional_writes: false");

            try (SessionStorage unsafe = open(Map.of("namespace", "nocas", "conditional_writes", false))) {
                unsafe.storeSession(session("x", "u"), null).join();
                assertThat(unsafe.replaceSession(session("x", "u").toBuilder().version(2).build(), 1, null).join()).isTrue();
            }
        } finally {
            server.front().dropConditions(false);
        }
    }

    @Test
    void aSlidingReadIsTheTouchsGetAndPutWithoutAnotherGet() {
        List<String> requests = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (S3Client client = recordingClient(requests);
                S3SessionStorage storage = S3SessionStorage.builder(client, "sessions").namespace("sliding").build()) {
            io.sessionbuddy.core.SessionManager sliding = new io.sessionbuddy.core.SessionManager(storage,
                    io.sessionbuddy.core.SessionBuddyConfig.defaults().withRefreshTtlOnRead(true),
                    java.time.Clock.systemUTC());
            String id = sliding.createSession("slider", "proj", Map.of("k", "v"), java.time.Duration.ofMinutes(5)).join();
            requests.clear();

            io.sessionbuddy.core.SessionState read = sliding.getSession(id).join().orElseThrow();

            // the touch reads and rewrites the object; the state it wrote is the read
            assertThat(requests).as("a sliding read's requests").containsExactly("GET", "PUT If-Match");
            java.time.Instant expected = java.time.Instant.now().plus(io.sessionbuddy.core.SessionBuddyConfig.DEFAULT_TTL);
            assertThat(read.expiresAt()).isCloseTo(expected, org.assertj.core.api.Assertions.within(java.time.Duration.ofSeconds(5)));
            assertThat(storage.retrieveSession(id).join().orElseThrow()).isEqualTo(read);
            requests.clear();
            assertThat(sliding.getSession("no-such-session").join()).isEmpty();
            assertThat(requests).containsExactly("GET");
        }
    }

    @Test
    void creatingASessionSendsNoHeadOnlyTheTwoIndexEntriesAndTheObject() {
        List<String> requests = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (S3Client client = recordingClient(requests);
                S3SessionStorage storage = S3SessionStorage.builder(client, "sessions").namespace("creates").build()) {
            io.sessionbuddy.core.SessionManager manager = new io.sessionbuddy.core.SessionManager(storage);
            requests.clear();
            String id = manager.createSession("creator", "proj", Map.of("k", "v"), null).join();
            assertThat(requests).as("createSession's requests").containsExactly("PUT", "PUT", "PUT");
            requests.clear();
            storage.storeSession(storage.retrieveSession(id).join().orElseThrow(), null).join();
            assertThat(requests).as("a store over the object just read").containsExactly("GET", "PUT If-Match");
            assertThat(manager.listUserSessions("creator").join()).containsExactly(id);
        }
    }

    @Test
    void aStoreOverTheObjectThisStorageLastSawIsOneConditionalPutAndTheUsualPathWhenAnotherWroteSince() {
        List<String> requests = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (S3Client client = recordingClient(requests);
                S3SessionStorage storage = S3SessionStorage.builder(client, "sessions").namespace("seen").build();
                SessionStorage other = open(Map.of("namespace", "seen"))) {
            requests.clear(); // the start's probe
            storage.storeSession(session("s1", "alice"), null).join();
            assertThat(requests).as("an object this storage has not seen: HEAD first").startsWith("HEAD");
            requests.clear();

            SessionState second = session("s1", "alice").toBuilder().metadata(Map.of("n", 2)).build();
            storage.storeSession(second, null).join();
            assertThat(requests).as("over its own write").containsExactly("PUT If-Match");
            requests.clear();
            assertThat(storage.retrieveSession("s1").join().orElseThrow().metadata().get("n").asInt()).isEqualTo(2);
            storage.storeSession(session("s1", "alice").toBuilder().metadata(Map.of("n", 3)).build(), null).join();
            assertThat(requests).as("over the object just read").containsExactly("GET", "PUT If-Match");

            // another writer moves the session to bob: the precondition breaks, the usual path moves it back
            other.storeSession(session("s1", "bob"), null).join();
            requests.clear();
            storage.storeSession(session("s1", "alice").toBuilder().metadata(Map.of("n", 4)).build(), null).join();
            assertThat(requests).containsExactly("PUT If-Match", "HEAD", "PUT", "PUT", "DELETE");
            assertThat(other.retrieveSession("s1").join().orElseThrow().metadata().get("n").asInt()).isEqualTo(4);
            assertThat(other.listSessions("alice", null).join()).containsExactly("s1");
            assertThat(other.listSessions("bob", null).join()).isEmpty();
            assertThat(keys("session-buddy/seen/index/users/" + S3SessionStorage.hash("bob") + "/")).isEmpty();

            // another writer deletes it (and its index entries): the store puts them back
            storage.storeSession(session("s1", "alice").toBuilder().metadata(Map.of("n", 5)).build(), null).join();
            assertThat(other.deleteSession("s1").join()).isTrue();
            requests.clear();
            storage.storeSession(session("s1", "alice").toBuilder().metadata(Map.of("n", 6)).build(), null).join();
            assertThat(requests).containsExactly("PUT If-Match", "HEAD", "PUT", "PUT", "PUT");
            assertThat(other.retrieveSession("s1").join().orElseThrow().metadata().get("n").asInt()).isEqualTo(6);
            assertThat(other.listSessions("alice", null).join()).containsExactly("s1");
            assertThat(other.listSessions(null, "proj").join()).containsExactly("s1");

            // an object about to expire may lose its entries to a listing: the usual path writes them again
            storage.storeSession(session("s2", "alice"), java.time.Duration.ofSeconds(30)).join();
            requests.clear();
            storage.storeSession(session("s2", "alice"), java.time.Duration.ofSeconds(30)).join();
            assertThat(requests).containsExactly("HEAD", "PUT", "PUT", "PUT");
        }
    }

    @Test
    void aPageListsFromTheCursorAndHeadsOnlyTheCandidatesItNeeds() {
        List<String> requests = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (S3Client client = recordingClient(requests);
                S3SessionStorage storage = S3SessionStorage.builder(client, "sessions").namespace("pages").build()) {
            List<String> ids = new java.util.ArrayList<>();
            List<java.util.concurrent.CompletableFuture<Boolean>> writes = new java.util.ArrayList<>();
            for (int i = 0; i < 150; i++) {
                // every tenth id is not a plain name: its objects are named ~<base64>, out of id order
                String id = String.format(i % 10 == 0 ? "p %03d \u00e9" : "p-%03d", i);
                ids.add(id);
                writes.add(storage.storeSession(session(id, "many"), null));
            }
            java.util.concurrent.CompletableFuture.allOf(writes.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .join();
            ids.sort(io.sessionbuddy.core.SessionPage.ORDER);
            requests.clear();

            io.sessionbuddy.core.SessionPage first = storage.listSessions("many", null, null, 10).join();

            assertThat(first.ids()).containsExactlyElementsOf(ids.subList(0, 10));
            // one listing of the encoded names, one of the plain ones from the cursor, and a HEAD for
            // each of the 11 candidates (the page and the one that says another page follows)
            assertThat(requests.stream().filter("GET"::equals).count()).isEqualTo(2);
            assertThat(requests.stream().filter("HEAD"::equals).count()).isEqualTo(11);
            assertThat(requests).hasSize(13);

            List<String> walked = new java.util.ArrayList<>();
            String cursor = null;
            do {
                io.sessionbuddy.core.SessionPage page = storage.listSessions("many", null, cursor, 25).join();
                walked.addAll(page.ids());
                cursor = page.nextCursor();
            } while (cursor != null);
            assertThat(walked).containsExactlyElementsOf(ids);
        }
    }

    @Test
    void theConditionalWriteProbeRunsForCustomEndpointsOnlyUnlessConfigured() {
        List<String> probes = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        server.front().dropConditions(true); // an endpoint that ignores If-None-Match: the probe would refuse it
        try {
            // check_conditional_writes: false on a custom endpoint: opens without the probe
            try (SessionStorage trusted = open(Map.of("namespace", "trusted", "check_conditional_writes", false))) {
                trusted.storeSession(session("t", "u"), null).join();
            }
            // a client with no endpoint override (AWS S3 itself: requests are only redirected here on
            // the wire): no probe by default, since AWS honours conditional writes
            try (S3Client aws = awsLikeClient(probes);
                    S3SessionStorage storage = S3SessionStorage.builder(aws, "sessions").namespace("awslike").build()) {
                storage.storeSession(session("a", "u"), null).join();
                assertThat(storage.retrieveSession("a").join()).isPresent();
                assertThat(probes).as("no probe object").isEmpty();
            }
            // the same client told to check: probes, and refuses this endpoint
            try (S3Client aws = awsLikeClient(probes)) {
                assertThatThrownBy(() -> S3SessionStorage.builder(aws, "sessions").namespace("awslike")
                        .checkConditionalWrites(true).build()).isInstanceOf(SessionStorageException.class)
                        .hasMessageContaining("ignores conditional writes");
                assertThat(probes).isNotEmpty();
            }
        } finally {
            server.front().dropConditions(false);
        }
    }

    /**
     * A client configured as for AWS S3 (no endpoint override), whose requests are rewritten to the
     * test server before they are signed; records the keys of probe objects it sends.
     */
    private static S3Client awsLikeClient(List<String> probes) {
        java.net.URI front = server.endpoint();
        return clientWith(null, new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public software.amazon.awssdk.http.SdkHttpRequest modifyHttpRequest(
                    software.amazon.awssdk.core.interceptor.Context.ModifyHttpRequest context,
                    software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                if (context.httpRequest().encodedPath().contains(".probe/")) {
                    probes.add(context.httpRequest().encodedPath());
                }
                return context.httpRequest().toBuilder().protocol(front.getScheme()).host(front.getHost())
                        .port(front.getPort()).build();
            }
        });
    }

    /** A client of the test server that adds the method of each request it sends to {@code requests}. */
    private static S3Client recordingClient(List<String> requests) {
        return clientWith(server.endpoint(), new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
            @Override
            public void beforeTransmission(software.amazon.awssdk.core.interceptor.Context.BeforeTransmission context,
                    software.amazon.awssdk.core.interceptor.ExecutionAttributes attributes) {
                requests.add(context.httpRequest().method().name()
                        + (context.httpRequest().firstMatchingHeader("If-Match").isPresent() ? " If-Match" : "")
                        + (context.httpRequest().firstMatchingHeader("If-None-Match").isPresent() ? " If-None-Match" : ""));
            }
        });
    }

    /** A path-style client with the test keys and {@code interceptor}; no endpoint override when {@code null}. */
    private static S3Client clientWith(java.net.URI endpoint,
            software.amazon.awssdk.core.interceptor.ExecutionInterceptor interceptor) {
        var builder = S3Client.builder().forcePathStyle(true).region(software.amazon.awssdk.regions.Region.US_EAST_1)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(S3TestServer.ACCESS_KEY,
                                S3TestServer.SECRET_KEY)))
                .overrideConfiguration(o -> o.addExecutionInterceptor(interceptor));
        if (endpoint != null) {
            builder.endpointOverride(endpoint);
        }
        return builder.build();
    }

    @Test
    void listingRepairsOldIndexEntriesOfVanishedSessionsButNotFreshOnes() {
        try (SessionStorage storage = open(Map.of("namespace", "repair"));
                S3Client client = server.client()) {
            storage.storeSession(session("gone", "carol"), null).join();
            storage.storeSession(session("kept", "carol"), null).join();
            client.deleteObject(b -> b.bucket("sessions").key("session-buddy/repair/sessions/gone"));
            String marker = "session-buddy/repair/index/users/" + S3SessionStorage.hash("carol") + "/gone";

            assertThat(storage.listSessions("carol", null).join()).containsExactly("kept");
            assertThat(keys(marker)).as("a fresh entry may belong to a write in progress").containsExactly(marker);

            try (SessionStorage later = new S3StorageProvider().create(new BackendSettings("s3",
                    settings(Map.of("namespace", "repair")), "<map>", SessionBuddyConfig.DEFAULT_TTL,
                    java.time.Clock.offset(java.time.Clock.systemUTC(), S3SessionStorage.REPAIR_GRACE.plusSeconds(5))))) {
                assertThat(later.listSessions("carol", null).join()).containsExactly("kept");
            }
            assertThat(keys(marker)).isEmpty();
        }
    }

    @Test
    void badSettingsNameTheKey() {
        assertThatThrownBy(() -> new S3StorageProvider().create(BackendSettings.of("s3", Map.of())))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.s3.bucket");
        assertThatThrownBy(() -> open(Map.of("endpoint", "not a url")))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.s3.endpoint");
        assertThatThrownBy(() -> new S3StorageProvider().create(BackendSettings.of("s3",
                Map.of("bucket", "b", "access_key", "only-half"))))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.s3.secret_key");
        assertThatThrownBy(() -> open(Map.of("max_attempts", 0)))
                .isInstanceOf(SessionConfigException.class).hasMessageContaining("backends.s3.max_attempts");
    }
}
