package io.sessionbuddy.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A loopback TCP proxy in front of a Redis server that can, once, forward a command to the server
 * and then cut the connection without passing the reply on: the client sees a reset connection
 * although the command ran (an "outcome unknown" write). It can also cut every connection and
 * refuse new ones for a while (a lost link).
 */
final class ReplyDroppingProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final AtomicReference<String> dropAfter = new AtomicReference<>();
    private volatile boolean holdInsteadOfCut;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile int dropped;
    private volatile boolean refusing;

    ReplyDroppingProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        listener = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "reply-dropping-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** The next client data containing {@code marker} is forwarded, its reply dropped, the connection cut. */
    void dropReplyOfNext(String marker) {
        holdInsteadOfCut = false;
        dropAfter.set(marker);
    }

    /**
     * The next client data containing {@code marker} is forwarded; from then on no reply reaches the
     * client, and the connection stays open (a frozen peer: the client's command times out).
     */
    void holdRepliesFromNext(String marker) {
        holdInsteadOfCut = true;
        dropAfter.set(marker);
    }

    /** Closes every connection; new ones are closed at once until {@link #resume()} (a lost link). */
    void cut() {
        refusing = true;
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
        sockets.clear();
    }

    /** Accepts and forwards connections again after {@link #cut()}. */
    void resume() {
        refusing = false;
    }

    /** How many replies were dropped. */
    int dropped() {
        return dropped;
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                if (refusing) {
                    client.close();
                    continue;
                }
                Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                sockets.add(client);
                sockets.add(server);
                boolean[] cut = {false};
                pump(client, server, true, cut);
                pump(server, client, false, cut);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to, boolean toServer, boolean[] cut) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[64 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    if (toServer) {
                        String marker = dropAfter.get();
                        if (marker != null && new String(buffer, 0, n, StandardCharsets.ISO_8859_1).contains(marker)
                                && dropAfter.compareAndSet(marker, null)) {
                            cut[0] = true; // from now on nothing goes back to the client
                            dropped++;
                            out.write(buffer, 0, n);
                            out.flush();
                            if (holdInsteadOfCut) {
                                continue;
                            }
                            Thread.sleep(200); // let the server run it
                            from.close();
                            to.close();
                            return;
                        }
                    } else if (cut[0]) {
                        if (holdInsteadOfCut) {
                            continue; // swallow the reply, keep the connection open
                        }
                        return;
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // connection closed
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "reply-dropping-pump");
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        sockets.forEach(ReplyDroppingProxy::closeQuietly);
    }
}
