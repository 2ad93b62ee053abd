#!/usr/bin/env python3
"""A TCP relay from 127.0.0.1:PORT to TARGET, for outage tests: stopping it
(SIGTERM) cuts every connection at once, as a network or service outage
would, and starting it again on the same port ends the outage.

  tcp_proxy.py PORT TARGET_HOST:TARGET_PORT MAX_SECONDS

Listens until SIGTERM or MAX_SECONDS, whichever comes first (a test that
dies never leaves it behind for long). Standard library only.
"""
import signal
import socket
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    port, target, max_seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    host, tport = target.rsplit(":", 1)
    live = []
    lock = threading.Lock()

    def stop(*_):
        with lock:
            for s in live:
                try:
                    # RST rather than FIN: what a vanished peer looks like.
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    s.close()
                except OSError:
                    pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, max_seconds)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    print("listening", flush=True)
    while True:
        client, _ = srv.accept()
        try:
            upstream = socket.create_connection((host, int(tport)), timeout=5)
        except OSError:
            client.close()
            continue
        upstream.settimeout(None)
        with lock:
            live.extend((client, upstream))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    main()
