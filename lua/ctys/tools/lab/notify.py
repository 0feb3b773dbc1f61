# The sandbox lab's wire from a Redfish BMC to its machine (ctys lab): sushy-tools' fake driver
# PUTs a system's whole record here each time it changes (EXTERNAL_NOTIFICATION_URL); for a
# system named labNN this runs `machine on|off NN` with its power_state. The machine switch is
# told the BMC knows (CTYS_LAB_BMC_KNOWS), so it does not tell the BMC back.
#   python3 notify.py PORT        (listens on 127.0.0.1 of the lab's control namespace)
import http.server
import json
import os
import re
import subprocess
import sys

MACHINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "machine")
MAX_BODY = 1 << 16


class Notified(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        try:
            n = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            n = -1
        if not 0 < n <= MAX_BODY:
            return self.answer(400, "a JSON body of at most 64 KiB")
        try:
            system = json.loads(self.rfile.read(n))
            i = int(re.fullmatch(r"lab(\d\d)", system["name"]).group(1))
            state = {"On": "on", "Off": "off"}[system["power_state"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.answer(400, "not a lab system's record")
        env = dict(os.environ, CTYS_LAB_BMC_KNOWS="1")
        done = subprocess.run([MACHINE, state, str(i)], env=env, timeout=30)
        self.answer(204 if done.returncode == 0 else 500, "")

    def answer(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("notify: " + (fmt % args) + "\n")


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Notified).serve_forever()
