package io.sessionbuddy.core;

import java.time.Clock;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listeners of one manager and the bounded, single-threaded queue that delivers their events:
 * in order, after the write was acknowledged, never on the caller's or an I/O thread. A full queue
 * drops (logged, counted), a failing listener is logged and counted.
 */
final class SessionEvents {
    /** Events waiting at most; more are dropped. */
    static final int QUEUE_CAPACITY = 10_000;
    private static final Logger LOG = LoggerFactory.getLogger(SessionEvents.class);

    private final CopyOnWriteArrayList<SessionListener> listeners = new CopyOnWriteArrayList<>();
    private final SessionStorage storage;
    private final ObserverList observers;
    private final Clock clock;
    private final AtomicLong dropped = new AtomicLong();
    private volatile ThreadPoolExecutor executor;
    /** Forwards the store's expired sessions to the listeners; added to the store with the first listener. */
    private final SessionObserver expiry = new SessionObserver() {
        @Override
        public void sessionExpired(String backend, String sessionId, String userId, String projectId) {
            if (SessionManager.ROTATED_OWNER.equals(userId)) {
                return; // the marker a rotation left under an old id: its session lives on under the new id
            }
            publish(SessionEvent.Type.EXPIRED, sessionId, userId, projectId, -1);
        }

        @Override
        public String toString() {
            return "expired-session events";
        }
    };

    SessionEvents(SessionStorage storage, ObserverList observers, Clock clock) {
        this.storage = storage;
        this.observers = observers;
        this.clock = clock;
    }

    void add(SessionListener listener) {
        java.util.Objects.requireNonNull(listener, "listener");
        synchronized (listeners) {
            if (listeners.isEmpty()) {
                storage.addObserver(expiry);
            }
            listeners.addIfAbsent(listener);
        }
    }

    boolean remove(SessionListener listener) {
        synchronized (listeners) {
            boolean removed = listeners.remove(listener);
            if (removed && listeners.isEmpty()) {
                storage.removeObserver(expiry);
            }
            return removed;
        }
    }

    boolean isEmpty() {
        return listeners.isEmpty();
    }

    /** Queues an event for the listeners (nothing when there are none). */
    void publish(SessionEvent.Type type, String sessionId, String userId, String projectId, long version) {
        if (listeners.isEmpty()) {
            return;
        }
        SessionEvent event = new SessionEvent(type, sessionId, userId, projectId, version, storage.backendName(),
                clock.instant(), null);
        try {
            executor().execute(() -> deliver(event));
        } catch (RejectedExecutionException e) {
            observers.eventDropped(storage.backendName());
            long n = dropped.incrementAndGet();
            if (Long.bitCount(n) == 1) { // 1, 2, 4, 8, ...: a slow listener does not flood the log
                LOG.warn("session listeners are {} events behind: dropped the {} event of session {} ({} dropped"
                        + " so far); make listeners faster or hand work to an executor of your own",
                        QUEUE_CAPACITY, type, sessionId, n);
            }
        }
    }

    private void deliver(SessionEvent event) {
        for (SessionListener listener : listeners) {
            try {
                SessionListener.deliver(listener, event);
            } catch (RuntimeException | Error e) {
                if (e instanceof VirtualMachineError) {
                    throw e;
                }
                observers.listenerFailed(storage.backendName());
                LOG.warn("session listener {} failed on {} of session {}: {}", listener, event.type(),
                        event.sessionId(), e.toString(), e);
            }
        }
    }

    private ThreadPoolExecutor executor() {
        ThreadPoolExecutor current = executor;
        if (current == null) {
            synchronized (this) {
                current = executor;
                if (current == null) {
                    current = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS,
                            new java.util.concurrent.ArrayBlockingQueue<>(QUEUE_CAPACITY), task -> {
                                Thread thread = new Thread(task, "session-buddy-events");
                                thread.setDaemon(true);
                                return thread;
                            });
                    current.allowCoreThreadTimeOut(true);
                    executor = current;
                }
            }
        }
        return current;
    }
}
