#!/usr/bin/env python3
"""A lossy UDP path for benchmarks (this kernel has no netem): listens on LISTEN
(127.0.0.x:port), forwards to SERVER, and drops each datagram with probability LOSS and delays
the rest by DELAY seconds, in both directions. Seeded, so two tools see the same odds.
usage: lossy-udp.py LISTEN SERVER LOSS DELAY SEED"""
import random, selectors, socket, sys, threading, time

listen, server, loss, delay, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
def addr(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)
rng = random.Random(seed)
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.bind(addr(listen))
# One back socket per client address, so each client's session sees only its own replies.
backs = {}
sel = selectors.DefaultSelector()
sel.register(front, selectors.EVENT_READ, None)

def later(sock, data, to):
    if rng.random() < loss:
        return
    threading.Timer(delay, lambda: sock.sendto(data, to)).start()

print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.data is None:
            data, client = front.recvfrom(4096)
            if client not in backs:
                b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                b.bind(("127.0.0.1", 0))
                backs[client] = b
                sel.register(b, selectors.EVENT_READ, client)
            later(backs[client], data, addr(server))
        else:
            data, _ = key.fileobj.recvfrom(4096)
            later(front, data, key.data)
