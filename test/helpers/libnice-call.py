#!/usr/bin/python3
# A call between two libnice agents (GObject introspection, Debian gir1.2-nice-0.1) that may talk
# only through TURN relays (force-relay): both allocate on the given server, exchange SDP in-process,
# run ICE, then send numbered messages both ways at a fixed pace and count what arrives.
#
# Driven by test/helpers/libnice.ts. Arguments: one JSON object (argv[1]) with
#   server, port, username, password: the TURN server and REST credential
#   relay: 'udp' | 'tcp' | 'tls'
#   seconds: how long to send; intervalMs: pace of each direction
#   connectTimeoutS: limit for gathering + ICE
#   tlsCa, tlsName: for 'tls' (see below)
# Prints one JSON line: the result (or {"error": ...}) and exits 0; 2 on bad arguments.
#
# libnice 0.1.21 has no TLS for TURN in RFC 5245 mode: NICE_RELAY_TYPE_TURN_TLS wraps the TCP
# stream in a fake "pseudo-SSL" handshake only for the Google and MSOC compatibility modes, and is
# plain TURN over TCP otherwise (agent/agent.c). For 'tls' this script therefore gives libnice
# TURN_TLS to a local forwarder that carries each connection over real TLS (certificate verified
# against tlsCa for tlsName) to the server's TLS listener, as a deployment would put stunnel or a
# TLS socket layer under libnice.
import ctypes
import json
import select
import socket
import ssl
import sys
import threading
import time

import gi

gi.require_version('Nice', '0.1')
from gi.repository import GLib, Nice  # noqa: E402

PREFIX = b'icegate-libnice '

# nice_agent_attach_recv (how Janus and GStreamer's nicesrc receive) is not introspectable, and the
# introspected recv calls cannot size their buffer: attach the receive callback through ctypes.
LIBNICE = ctypes.CDLL('libnice.so.10')
LIBGLIB = ctypes.CDLL('libglib-2.0.so.0')
RECV_FUNC = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint,
                             ctypes.POINTER(ctypes.c_char), ctypes.c_void_p)
LIBNICE.nice_agent_attach_recv.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint,
                                           ctypes.c_void_p, RECV_FUNC, ctypes.c_void_p]
LIBNICE.nice_agent_attach_recv.restype = ctypes.c_int
LIBGLIB.g_main_context_default.restype = ctypes.c_void_p
ctypes.pythonapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def gobject_pointer(obj):
    return ctypes.pythonapi.PyCapsule_GetPointer(obj.__gpointer__, None)


def log(*parts):
    print('libnice-call:', *parts, file=sys.stderr, flush=True)


class TlsForwarder:
    """Accepts TCP on 127.0.0.1:0 and carries every connection over verified TLS to the server."""

    def __init__(self, server, port, ca_file, name):
        self.server, self.port, self.name = server, port, name
        self.context = ssl.create_default_context(cafile=ca_file)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.local_port = self.listener.getsockname()[1]
        self.tls_versions = []
        self.stopped = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopped:
            try:
                plain, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.pump, args=(plain,), daemon=True).start()

    def pump(self, plain):
        try:
            raw = socket.create_connection((self.server, self.port))
            secure = self.context.wrap_socket(raw, server_hostname=self.name)
            self.tls_versions.append(secure.version())
        except (OSError, ssl.SSLError) as error:
            log('TLS connect failed:', error)
            plain.close()
            return
        secure.setblocking(False)
        plain.setblocking(False)
        try:
            while not self.stopped:
                # TLS may hold decrypted bytes that select() cannot see.
                readable = [secure] if secure.pending() else []
                if not readable:
                    readable, _, _ = select.select([plain, secure], [], [], 0.5)
                for source in readable:
                    sink = secure if source is plain else plain
                    try:
                        data = source.recv(65536)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        continue
                    if not data:
                        return
                    sink.setblocking(True)
                    sink.sendall(data)
                    sink.setblocking(False)
        except (OSError, ssl.SSLError) as error:
            log('TLS forwarder ended:', error)
        finally:
            plain.close()
            secure.close()

    def stop(self):
        self.stopped = True
        self.listener.close()


class Side:
    """One agent with one stream of one component, relay-only."""

    def __init__(self, name, controlling, relay):
        self.name = name
        self.agent = Nice.Agent.new(GLib.MainContext.default(), Nice.Compatibility.RFC5245)
        self.agent.props.controlling_mode = controlling
        self.agent.props.force_relay = True
        self.agent.props.ice_tcp = False
        # libnice skips loopback interfaces when it lists local addresses; the test runs on
        # loopback only, so the host candidate (the base of the relayed one) is given.
        local = Nice.Address.new()
        local.set_from_string('127.0.0.1')
        self.agent.add_local_address(local)
        self.stream = self.agent.add_stream(1)
        self.agent.set_relay_info(self.stream, 1, relay['ip'], relay['port'], relay['username'],
                                  relay['password'], relay['type'])
        self.gathered = False
        self.ready = False
        self.failed = False
        self.selected = None
        self.received = {}
        self.duplicates = 0
        self.out_of_order = 0
        self.last_seq = -1
        self.last_arrival = None
        self.max_gap_ms = 0
        self.agent.connect('candidate-gathering-done', self.on_gathered)
        self.agent.connect('component-state-changed', self.on_state)
        self.agent.connect('new-selected-pair-full', self.on_selected)
        self.callback = RECV_FUNC(self.on_recv)
        if not LIBNICE.nice_agent_attach_recv(gobject_pointer(self.agent), self.stream, 1,
                                              LIBGLIB.g_main_context_default(), self.callback, None):
            raise RuntimeError('nice_agent_attach_recv failed')

    def on_gathered(self, agent, stream):
        self.gathered = True

    def on_state(self, agent, stream, component, state):
        log(self.name, 'state', Nice.component_state_to_string(state))
        if state == Nice.ComponentState.READY:
            self.ready = True
        elif state == Nice.ComponentState.FAILED:
            self.failed = True

    def on_selected(self, agent, stream, component, local, remote):
        self.selected = {'local': describe(local), 'remote': describe(remote)}

    def candidates(self):
        return [describe(c) for c in self.agent.get_local_candidates(self.stream, 1)]

    def on_recv(self, agent, stream, component, length, buf, data):
        self.on_data(ctypes.string_at(buf, length))

    def on_data(self, data):
        if not data.startswith(PREFIX):
            return
        seq = int(data[len(PREFIX):].split(b' ', 1)[0])
        now = time.monotonic()
        if self.last_arrival is not None:
            self.max_gap_ms = max(self.max_gap_ms, round((now - self.last_arrival) * 1000))
        self.last_arrival = now
        if seq in self.received:
            self.duplicates += 1
            return
        if seq < self.last_seq:
            self.out_of_order += 1
        self.last_seq = max(self.last_seq, seq)
        self.received[seq] = now

    def send(self, seq):
        payload = PREFIX + str(seq).encode() + b' ' + b'x' * 80
        return self.agent.send(self.stream, 1, len(payload), payload.decode())


def describe(candidate):
    return {
        'type': Nice.Candidate.type_to_string(candidate.type),
        'transport': Nice.Candidate.transport_to_string(candidate.transport),
        'address': candidate.addr.dup_string() if hasattr(candidate.addr, 'dup_string') else None,
        'port': candidate.addr.get_port(),
    }


def run(options):
    ctx = GLib.MainContext.default()
    forwarder = None
    kinds = {'udp': Nice.RelayType.UDP, 'tcp': Nice.RelayType.TCP,
             'tls': Nice.RelayType.TLS}
    relay = {'ip': options['server'], 'port': options['port'], 'username': options['username'],
             'password': options['password'], 'type': kinds[options['relay']]}
    if options['relay'] == 'tls':
        forwarder = TlsForwarder(options['server'], options['port'], options['tlsCa'],
                                 options.get('tlsName', 'localhost'))
        relay = {**relay, 'ip': '127.0.0.1', 'port': forwarder.local_port}
    a = Side('A', True, relay)
    b = Side('B', False, relay)

    def spin(until, limit_s):
        deadline = time.monotonic() + limit_s
        while not until() and time.monotonic() < deadline:
            step()
        return until()

    def step():
        if not ctx.iteration(False):
            time.sleep(0.001)

    started = time.monotonic()
    for side in (a, b):
        if not side.agent.gather_candidates(side.stream):
            return {'error': f'{side.name}: gather_candidates refused'}
    if not spin(lambda: a.gathered and b.gathered, options['connectTimeoutS']):
        return {'error': 'candidate gathering did not finish'}
    candidates = {'A': a.candidates(), 'B': b.candidates()}
    if not candidates['A'] or not candidates['B']:
        return {'error': 'no relay candidate', 'candidates': candidates}
    for local, remote in ((a, b), (b, a)):
        sdp = remote.agent.generate_local_sdp()
        if local.agent.parse_remote_sdp(sdp) < 1:
            return {'error': f'{local.name} could not parse the remote SDP', 'sdp': sdp}
    if not spin(lambda: (a.ready and b.ready) or a.failed or b.failed, options['connectTimeoutS']):
        return {'error': 'ICE did not complete', 'candidates': candidates}
    if a.failed or b.failed:
        return {'error': 'ICE failed', 'candidates': candidates}
    connect_ms = round((time.monotonic() - started) * 1000)

    interval = options['intervalMs'] / 1000
    send_until = time.monotonic() + options['seconds']
    sent = 0
    send_failures = 0
    next_send = time.monotonic()
    while time.monotonic() < send_until:
        now = time.monotonic()
        if now >= next_send:
            for side in (a, b):
                if side.send(sent) < 0:
                    send_failures += 1
            sent += 1
            next_send += interval
        step()
    spin(lambda: len(a.received) >= sent and len(b.received) >= sent, 2.0)

    def direction(receiver):
        missing = [s for s in range(sent) if s not in receiver.received]
        return {'sent': sent, 'received': len(receiver.received), 'lost': len(missing),
                'firstLost': missing[:10], 'duplicates': receiver.duplicates,
                'outOfOrder': receiver.out_of_order, 'maxGapMs': receiver.max_gap_ms}

    result = {
        'connectMs': connect_ms,
        'candidates': candidates,
        'selected': {'A': a.selected, 'B': b.selected},
        'aToB': direction(b),
        'bToA': direction(a),
        'sendFailures': send_failures,
    }
    if forwarder is not None:
        result['tlsVersions'] = forwarder.tls_versions
        forwarder.stop()
    for side in (a, b):
        side.agent.close_async(None, None)
    spin(lambda: False, 0.2)
    return result


def main():
    try:
        options = json.loads(sys.argv[1])
    except (IndexError, ValueError) as error:
        print(json.dumps({'error': f'bad arguments: {error}'}))
        return 2
    print(json.dumps(run(options)), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
