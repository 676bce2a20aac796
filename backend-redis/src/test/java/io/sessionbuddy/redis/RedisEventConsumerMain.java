package io.sessionbuddy.redis;

import io.lettuce.core.RedisURI;
import io.sessionbuddy.core.SessionEvent;
import io.sessionbuddy.core.SessionListener;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * A consumer in a process of its own, to be killed: {@code cluster:<port>,<port>,... <namespace>
 * <group> <name>}. Prints {@code ready} after its first sweep, then {@code event <session id>} for
 * each created event, taking 100 ms over each, until killed.
 */
public final class RedisEventConsumerMain {
    private RedisEventConsumerMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        List<RedisURI> seeds = Arrays.stream(args[0].substring("cluster:".length()).split(","))
                .map(port -> RedisURI.create("127.0.0.1", Integer.parseInt(port))).toList();
        RedisSessionEventConsumer consumer = RedisSessionEventConsumer.startCluster(seeds, args[1], args[2], args[3],
                new SessionListener() {
                    @Override
                    public void sessionCreated(SessionEvent event) {
                        System.out.println("event " + event.sessionId());
                        System.out.flush();
                        try {
                            Thread.sleep(100);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }, Duration.ofSeconds(30), false, Duration.ofHours(1));
        while (!consumer.caughtUp()) {
            Thread.sleep(10);
        }
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
