package io.sessionbuddy.testkit;

import io.sessionbuddy.core.SessionEvent;
import io.sessionbuddy.core.SessionListener;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/** A session listener for tests: keeps every event it is given, of every type, and the thread that gave it. */
public final class RecordingListener implements SessionListener {
    /** The events in the order they came. */
    public final BlockingQueue<SessionEvent> events = new LinkedBlockingQueue<>();
    /** The name of the thread of each event, in the same order. */
    public final List<String> threads = new CopyOnWriteArrayList<>();

    private void record(SessionEvent event) {
        threads.add(Thread.currentThread().getName());
        events.add(event);
    }

    @Override
    public void sessionCreated(SessionEvent event) {
        record(event);
    }

    @Override
    public void sessionUpdated(SessionEvent event) {
        record(event);
    }

    @Override
    public void sessionDeleted(SessionEvent event) {
        record(event);
    }

    @Override
    public void sessionExpired(SessionEvent event) {
        record(event);
    }
}
