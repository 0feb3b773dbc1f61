# A sandbox machine's serial port (ctys lab): its BMC, an ipmi_sim whose lan.conf says
# `sol "tcp:127.0.0.1:PORT"`, connects here when a Serial-over-LAN console is activated. While
# the machine is on (its BMC's power file reads 1), each connection gets a shell on a pty
# inside the machine's namespace, as a getty on ttyS0 would give; off, the line stays silent.
#   python3 serial.py PORT NAMESPACE POWER_FILE NAME
import os
import pty
import select
import signal
import socket
import sys

port, ns, power, name = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def on():
    try:
        with open(power) as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def serve(conn):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(PS1=name + "# ", TERM="vt100")
        os.execvp("ip", ["ip", "netns", "exec", ns, "/bin/sh", "-i"])
    try:
        while True:
            ready, _, _ = select.select([conn, fd], [], [], 1.0)
            if not on():
                break
            if conn in ready:
                data = conn.recv(4096)
                if not data:
                    break
                os.write(fd, data)
            if fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                conn.sendall(data)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(4)
while True:
    conn, _ = listener.accept()
    with conn:
        if on():
            try:
                serve(conn)
            except OSError:
                pass
