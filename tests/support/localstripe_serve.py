"""localstripe for the tests, on 127.0.0.1 only: `python3 localstripe_serve.py PORT`.

localstripe's own `localstripe --port N` (server.start) binds every interface (`::`) and loads
its state from /tmp/localstripe.pickle. This launcher runs the same aiohttp `app` but binds the
loopback address only, starts empty, keeps nothing on disk (localstripe pickles its whole store
to a fixed /tmp path after every change, which several test runs would share), and exits when
its standard input closes, i.e. when the test process that started it has ended.

Set SELFCARE_TEST_STRIPE_LOG=1 to see localstripe's access log on stderr.
"""

import logging
import os
import sys
import threading

from aiohttp import web

from localstripe import resources
from localstripe.server import app


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: localstripe_serve.py PORT")
    port = int(sys.argv[1])

    # No state from or to /tmp/localstripe.pickle.
    resources.Store.dump_to_disk = lambda self: None

    def exit_when_stdin_closes():
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()

    access_log = None
    if os.environ.get("SELFCARE_TEST_STRIPE_LOG"):
        access_log = logging.getLogger("aiohttp.access")
        access_log.setLevel(logging.DEBUG)
        access_log.addHandler(logging.StreamHandler())

    web.run_app(app, host="127.0.0.1", port=port, access_log=access_log, print=None)


if __name__ == "__main__":
    main()
