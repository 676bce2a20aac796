package io.sessionbuddy.bench;

import io.lettuce.core.RedisClient;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.sessionbuddy.core.SessionManager;
import io.sessionbuddy.core.SessionState;
import io.sessionbuddy.core.format.SessionRecordCodec;
import io.sessionbuddy.core.format.StoredFormat;
import io.sessionbuddy.redis.RedisSessionStorage;
import io.sessionbuddy.redis.RedisTestServer;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.session.Session;
import org.springframework.session.SessionRepository;
import org.springframework.session.data.redis.RedisSessionRepository;

/**
 * The problem issue #14 started from, measured again: reads of one session from 8 threads calling
 * synchronously, through this library's {@code getSession} and through Spring Session's
 * {@code RedisSessionRepository.findById} (set up by hand as its documentation shows, its default
 * JDK serialisation, on its default shared Lettuce connection), next to a raw Lettuce {@code GET}
 * of the library's record, all on one local redis-server in one run. The session holds one
 * attribute of 1 KiB (a string: {@code metadata.payload} here, the attribute {@code payload} there).
 * {@code libraryGetNearCache} reads through a second storage with the near cache on. {@code -t 1}
 * gives the same with one thread. Updates: each thread changes its own session
 * ({@code updateSession} with compare-and-set here; {@code findById}, {@code setAttribute},
 * {@code save} there, which writes without any check).
 *
 * <p>A web request: what each does for a request that reads the session and changes nothing, with
 * sliding expiration. Spring Session's {@code SessionRepositoryFilter} sets the session's last access
 * time on every request that asks for the session and saves it when the response is committed
 * ({@code findById}, {@code setLastAccessedTime}, {@code save}: its delta write of the access time,
 * then the new expiry); here {@code getSession} with {@code refresh_ttl_on_read} (a touch and the
 * read, pipelined).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(8)
public class SpringSessionComparisonBenchmark {
    private static final Duration TTL = Duration.ofHours(24);
    private static final String PAYLOAD = "x".repeat(1024);

    private RedisClient client;
    private RedisSessionStorage storage;
    private SessionManager manager;
    private SessionManager slidingManager;
    private RedisSessionStorage nearStorage;
    private SessionManager nearManager;
    private StatefulRedisConnection<String, byte[]> connection;
    private RedisCommands<String, byte[]> raw;
    private LettuceConnectionFactory factory;
    private SessionRepository<Session> spring;
    private String libraryId;
    private String springId;

    /** Each thread's own session, for the updates. */
    @State(Scope.Thread)
    public static class Own {
        String libraryId;
        String springId;
        long counter;

        @Setup
        public void setUp(SpringSessionComparisonBenchmark shared) {
            libraryId = shared.manager.createSession("user", "project", Map.of("payload", PAYLOAD), TTL).join();
            springId = shared.createSpringSession();
        }
    }

    @Setup
    @SuppressWarnings("unchecked")
    public void setUp() {
        RedisTestServer server = BenchServers.redis();
        client = RedisClient.create();
        storage = RedisSessionStorage.builder().client(client).uri(server.uri()).namespace("springcmp").build();
        manager = new SessionManager(storage);
        slidingManager = new SessionManager(storage, io.sessionbuddy.core.SessionBuddyConfig.defaults()
                .withRefreshTtlOnRead(true), java.time.Clock.systemUTC());
        libraryId = manager.createSession("user", "project", Map.of("payload", PAYLOAD), TTL).join();
        nearStorage = RedisSessionStorage.builder().client(client).uri(server.uri()).namespace("springcmp")
                .nearCache(10_000, Duration.ofMinutes(1)).build();
        nearManager = new SessionManager(nearStorage);
        nearManager.getSession(libraryId).join().orElseThrow(); // fills the near cache
        connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE), server.uri());
        raw = connection.sync();
        SessionState state = manager.getSession(libraryId).join().orElseThrow();
        raw.set("springcmp-raw", new SessionRecordCodec(StoredFormat.defaults()).encode(state, "raw"),
                SetArgs.Builder.px(TTL.toMillis()));

        factory = new LettuceConnectionFactory(new RedisStandaloneConfiguration(server.uri().getHost(), server.port()));
        factory.afterPropertiesSet();
        factory.start();
        RedisTemplate<String, Object> template = new RedisTemplate<>();
        template.setConnectionFactory(factory);
        template.setKeySerializer(RedisSerializer.string());
        template.setHashKeySerializer(RedisSerializer.string());
        template.afterPropertiesSet();
        // its session class is not public: used through the SessionRepository interface
        spring = (SessionRepository<Session>) (SessionRepository<?>) new RedisSessionRepository(template);
        springId = createSpringSession();
    }

    String createSpringSession() {
        Session session = spring.createSession();
        session.setAttribute("payload", PAYLOAD);
        spring.save(session);
        return session.getId();
    }

    @TearDown
    public void tearDown() {
        factory.destroy();
        connection.close();
        nearStorage.close();
        storage.close();
        client.shutdown();
        BenchServers.stop();
    }

    /** This library: {@code getSession}, then the attribute read. */
    @Benchmark
    public Object libraryGet() {
        Optional<SessionState> state = manager.getSession(libraryId).join();
        return state.orElseThrow().metadata().get("payload");
    }

    /** This library with {@code near_cache} on: reads served in-process, kept correct by Redis. */
    @Benchmark
    public Object libraryGetNearCache() {
        Optional<SessionState> state = nearManager.getSession(libraryId).join();
        return state.orElseThrow().metadata().get("payload");
    }

    /** Spring Session: {@code findById}, then the attribute read. */
    @Benchmark
    public Object springFindById() {
        return spring.findById(springId).getAttribute("payload");
    }

    /**
     * A web request with sliding expiration, this library: {@code getSession} with
     * {@code refresh_ttl_on_read} (touch and read pipelined, one round trip), then the attribute read.
     */
    @Benchmark
    public Object libraryRequest() {
        Optional<SessionState> state = slidingManager.getSession(libraryId).join();
        return state.orElseThrow().metadata().get("payload");
    }

    /**
     * A web request, Spring Session: what its {@code SessionRepositoryFilter} does for a request that
     * reads the session: {@code findById}, {@code setLastAccessedTime(now)}, the attribute read, and
     * {@code save} when the response is committed (its delta write and the new expiry).
     */
    @Benchmark
    public Object springRequest() {
        Session session = spring.findById(springId);
        session.setLastAccessedTime(java.time.Instant.now());
        Object payload = session.getAttribute("payload");
        spring.save(session);
        return payload;
    }

    /** The raw client: a {@code GET} of the library's record, nothing decoded. */
    @Benchmark
    public byte[] rawGet() {
        return raw.get("springcmp-raw");
    }

    /** This library: one attribute changed with compare-and-set (read, change, conditional write). */
    @Benchmark
    public Optional<SessionState> libraryUpdate(Own own) {
        String value = Long.toString(++own.counter);
        return manager.updateSession(own.libraryId, s -> s.toBuilder().putMetadata("n", value).build()).join();
    }

    /** Spring Session: read, one attribute set, saved (its delta write, no check). */
    @Benchmark
    public String springUpdate(Own own) {
        Session session = spring.findById(own.springId);
        session.setAttribute("n", Long.toString(++own.counter));
        spring.save(session);
        return session.getId();
    }
}
