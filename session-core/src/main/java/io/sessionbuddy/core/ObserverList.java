package io.sessionbuddy.core;

import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The observers of one storage or manager, told as one: each call goes to every observer, and an
 * observer that throws is logged (once per observer and kind of call) and skipped. With no observer
 * (the usual case) {@link #isEmpty()} is one volatile read and nothing is allocated.
 */
public final class ObserverList implements SessionObserver {
    private static final Logger LOG = LoggerFactory.getLogger(ObserverList.class);

    private final CopyOnWriteArrayList<SessionObserver> observers = new CopyOnWriteArrayList<>();
    private final java.util.Set<String> reported = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean empty = true;

    /**
     * Adds an observer (once).
     *
     * @param observer the observer
     */
    public void add(SessionObserver observer) {
        Objects.requireNonNull(observer, "observer");
        observers.addIfAbsent(observer);
        empty = false;
    }

    /**
     * Removes an observer.
     *
     * @param observer the observer
     * @return {@code true} if it was there
     */
    public boolean remove(SessionObserver observer) {
        boolean removed = observers.remove(observer);
        empty = observers.isEmpty();
        return removed;
    }

    /**
     * Whether there is no observer.
     *
     * @return {@code true} when nothing observes (one volatile read)
     */
    public boolean isEmpty() {
        return empty;
    }

    private void failed(SessionObserver observer, String call, RuntimeException e) {
        if (reported.add(observer.getClass().getName() + "#" + call)) {
            LOG.warn("session observer {} failed in {} (reported once): {}", observer, call, e.toString(), e);
        }
    }

    @Override
    public Timing start(String backend, Operation operation) {
        if (empty) {
            return Timing.NONE;
        }
        if (observers.size() == 1) {
            SessionObserver only = observers.get(0);
            try {
                Timing timing = only.start(backend, operation);
                return (outcome, error) -> {
                    try {
                        timing.stop(outcome, error);
                    } catch (RuntimeException e) {
                        failed(only, "stop", e);
                    }
                };
            } catch (RuntimeException e) {
                failed(only, "start", e);
                return Timing.NONE;
            }
        }
        java.util.List<Timing> timings = new java.util.ArrayList<>();
        for (SessionObserver observer : observers) {
            try {
                timings.add(observer.start(backend, operation));
            } catch (RuntimeException e) {
                failed(observer, "start", e);
            }
        }
        return (outcome, error) -> {
            for (Timing timing : timings) {
                try {
                    timing.stop(outcome, error);
                } catch (RuntimeException e) {
                    LOG.warn("session observer failed in stop: {}", e.toString());
                }
            }
        };
    }

    /** Calls {@code call} on every observer, logging failures. */
    private void each(String name, java.util.function.Consumer<SessionObserver> call) {
        if (empty) {
            return;
        }
        for (SessionObserver observer : observers) {
            try {
                call.accept(observer);
            } catch (RuntimeException e) {
                failed(observer, name, e);
            }
        }
    }

    @Override
    public void updateAttempts(String backend, int attempts, boolean gaveUp) {
        each("updateAttempts", o -> o.updateAttempts(backend, attempts, gaveUp));
    }

    @Override
    public void damagedRecord(String backend, CorruptSessionException.Reason reason) {
        each("damagedRecord", o -> o.damagedRecord(backend, reason));
    }

    @Override
    public void recordEncoded(String backend, int jsonBytes, int recordBytes) {
        each("recordEncoded", o -> o.recordEncoded(backend, jsonBytes, recordBytes));
    }

    @Override
    public void cleanedUp(String backend, int sessions) {
        each("cleanedUp", o -> o.cleanedUp(backend, sessions));
    }

    @Override
    public void indexRepaired(String backend, int entries) {
        each("indexRepaired", o -> o.indexRepaired(backend, entries));
    }

    @Override
    public void sessionExpired(String backend, String sessionId, String userId, String projectId) {
        each("sessionExpired", o -> o.sessionExpired(backend, sessionId, userId, projectId));
    }

    @Override
    public void listenerFailed(String backend) {
        each("listenerFailed", o -> o.listenerFailed(backend));
    }

    @Override
    public void eventDropped(String backend) {
        each("eventDropped", o -> o.eventDropped(backend));
    }
}
