"""grpo process plugins in Python: a reward (or template, or generation backend) is one function.

    #!/usr/bin/python3
    import grpo_plugin

    def reward(batch):
        # batch = {"abi": 1, "seed": N, "items": [{"prompt", "completion", "metadata"}, ...]}
        return [1.0 if "42" in it["completion"] else 0.0 for it in batch["items"]]

    grpo_plugin.serve_reward(reward, name="has-42")

grpo starts the file as a hashicorp/go-plugin process (sdk/proto/grpo_plugin.proto, protocol 1)
and calls it over gRPC on a unix socket. This module speaks that protocol with Debian's
python3-grpcio only: generic method handlers carry the JSON documents of sdk/wire as bytes, so
there is no code-generation step. It also serves what go-plugin expects around the plugin's own
service: the stdout handshake line, grpc.health.v1.Health ("plugin" SERVING),
plugin.GRPCController/Shutdown (a graceful stop, instead of go-plugin's 2 s wait and SIGKILL) and
AutoMTLS (a one-time certificate made with python3-cryptography, verified against grpo's).

Use Debian's interpreter (#!/usr/bin/python3): a pyenv or venv python3 earlier on PATH does not
see python3-grpcio. scripts/setup.d/30-python-grpc.sh installs both packages.

Logging: `grpo_plugin.log` (a logging.Logger) writes JSON lines that grpo re-emits into its own
log at the same level, tagged with the plugin's name. Anything else on stderr reaches grpo's log
at debug level and appears in crash reports; print() goes to stderr too (stdout is the handshake).

A function may raise: the batch fails with the exception's message (and the traceback is logged);
the plugin keeps serving. Returning NaN or infinity is an error: return None for "no score".
"""

import base64
import datetime
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import traceback
from concurrent import futures

import grpc
from google.protobuf import wrappers_pb2

PROTOCOL_VERSION = 1  # application protocol of sdk/proto/grpo_plugin.proto
CORE_PROTOCOL_VERSION = 1  # go-plugin's own handshake version
# Magic cookies per plugin kind; keep in sync with sdk/proto/pluginpb/handshake.go.
COOKIES = {
    "reward": ("GRPO_REWARD_PLUGIN", "reward-v1"),
    "template": ("GRPO_TEMPLATE_PLUGIN", "template-v1"),
    "generator": ("GRPO_GENERATOR_PLUGIN", "generator-v1"),
}
SERVICE = "grpo.plugin.v1."
PARENT_POLL_SECONDS = 0.5

# --- logging in hclog's JSON shape, which go-plugin's host parses -------------------------------

_real_stderr = sys.stderr


class _HclogHandler(logging.Handler):
    _levels = {"DEBUG": "debug", "INFO": "info", "WARNING": "warn", "ERROR": "error", "CRITICAL": "error"}
    _skip = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def emit(self, record):
        try:
            ts = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            entry = {
                "@level": self._levels.get(record.levelname, "info"),
                "@message": record.getMessage(),
                "@timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            for k, v in vars(record).items():  # logging's extra={...} fields
                if k not in self._skip:
                    entry[k] = v
            if record.exc_info:
                entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
            _real_stderr.write(json.dumps(entry, default=str) + "\n")
            _real_stderr.flush()
        except Exception:  # a log line must never take the plugin down
            self.handleError(record)


log = logging.getLogger("grpo_plugin")
log.addHandler(_HclogHandler())
log.setLevel(logging.DEBUG)
log.propagate = False


# --- the plugin services --------------------------------------------------------------------------


def _json_bytes(obj):
    """Encodes a reply; NaN/Infinity are not JSON, so they become an error reply."""
    try:
        return json.dumps(obj, allow_nan=False).encode()
    except (TypeError, ValueError) as e:
        return json.dumps({"error": "cannot encode the reply as JSON: %s (use None for no score, "
                                    "never NaN or inf)" % e}).encode()


def _call(op, fn, arg):
    """Runs an author's function; an exception becomes {"error"} and a logged traceback."""
    try:
        return fn(arg), None
    except Exception as e:
        log.error("%s failed: %s: %s" % (op, type(e).__name__, e), exc_info=True)
        return None, "%s: %s" % (type(e).__name__, e)


def _unary(fn):
    # JSON messages are google.protobuf.BytesValue on the wire (field 1, bytes).
    def handler(request, context):
        return wrappers_pb2.BytesValue(value=fn(request.value))
    return grpc.unary_unary_rpc_method_handler(
        handler,
        request_deserializer=wrappers_pb2.BytesValue.FromString,
        response_serializer=wrappers_pb2.BytesValue.SerializeToString)


def _reward_result(out):
    if isinstance(out, dict):
        return out
    rewards = [None if v is None else float(v) for v in out]
    return {"rewards": rewards}


def _template_result(out):
    if isinstance(out, str):
        return {"prompt": out}
    if isinstance(out, list):
        return {"messages": out}
    return out


def _generate_result(out):
    if isinstance(out, list):
        return {"completions": out}
    return out


class _Plugin:
    def __init__(self, kind, fn, describe, configure, sync_weights=None):
        self.kind, self.fn, self.configure_fn, self.sync_fn = kind, fn, configure, sync_weights
        self.describe = dict(describe, kind=kind)
        if sync_weights is not None:
            self.describe["capabilities"] = ["sync_weights"]
        self.stopped = threading.Event()

    def do_describe(self, _req):
        return _json_bytes(self.describe)

    def do_configure(self, req):
        settings = json.loads(req or b"{}")
        if self.configure_fn is None:
            return b"{}"
        _, err = _call("configure", self.configure_fn, settings)
        return _json_bytes({"error": err} if err else {})

    def do_score(self, req):
        batch = json.loads(req)
        out, err = _call("score", self.fn, batch)
        if err:
            return _json_bytes({"error": err})
        try:
            return _json_bytes(_reward_result(out))
        except (TypeError, ValueError) as e:
            return _json_bytes({"error": "reward must return a list of numbers/None or a result "
                                         "dict: %s" % e})

    def do_render(self, req):
        out, err = _call("render", self.fn, json.loads(req))
        return _json_bytes({"error": err} if err else _template_result(out))

    def do_generate(self, req):
        out, err = _call("generate", self.fn, json.loads(req))
        return _json_bytes({"error": err} if err else _generate_result(out))

    def do_sync_weights(self, req):
        if self.sync_fn is None:
            return _json_bytes({"error": "this backend does not update weights"})
        _, err = _call("sync_weights", self.sync_fn, json.loads(req))
        return _json_bytes({"error": err} if err else {})

    def handlers(self):
        kind_methods = {
            "reward": ("Reward", {"Score": self.do_score}),
            "template": ("Template", {"Render": self.do_render}),
            "generator": ("Generator", {"Generate": self.do_generate, "SyncWeights": self.do_sync_weights}),
        }[self.kind]
        raw = lambda f: grpc.unary_unary_rpc_method_handler(f)  # bytes in, bytes out
        return [
            grpc.method_handlers_generic_handler(SERVICE + "Plugin", {
                "Describe": _unary(self.do_describe), "Configure": _unary(self.do_configure)}),
            grpc.method_handlers_generic_handler(
                SERVICE + kind_methods[0], {m: _unary(f) for m, f in kind_methods[1].items()}),
            # HealthCheckResponse{status: SERVING}: field 1 (varint) = 1. Hand-encoded because the
            # grpc_health package is not in Debian; the request is not needed.
            grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
                "Check": raw(lambda req, ctx: b"\x08\x01")}),
            # go-plugin's graceful stop; plugin.Empty is an empty message.
            grpc.method_handlers_generic_handler("plugin.GRPCController", {
                "Shutdown": raw(self._shutdown)}),
        ]

    def _shutdown(self, _req, _ctx):
        log.debug("shutdown requested by grpo")
        self.stopped.set()
        return b""


# --- go-plugin handshake ----------------------------------------------------------------------------


def _server_credentials(client_cert_pem):
    """AutoMTLS: a one-time self-signed certificate for "localhost" (as go-plugin's own), trusting
    only the certificate grpo passed in PLUGIN_CLIENT_CERT. Returns (credentials, the certificate
    as unpadded base64 DER for the handshake line)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True,
                                         key_agreement=True, key_cert_sign=True,
                                         content_commitment=False, data_encipherment=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=client_cert_pem.encode(),
                                        require_client_auth=True)
    der = cert.public_bytes(serialization.Encoding.DER)
    return creds, base64.b64encode(der).decode().rstrip("=")


def _watch_parent():
    """Exit when grpo dies (the kernel re-parents us): no orphan plugin outlives the trainer."""
    ppid = os.getppid()
    if ppid <= 1:
        return

    def loop():
        while True:
            threading.Event().wait(PARENT_POLL_SECONDS)
            if os.getppid() != ppid:
                log.warning("grpo (the parent process) is gone; exiting")
                os._exit(1)
    threading.Thread(target=loop, name="grpo-parent-watch", daemon=True).start()


def _serve(plugin):
    key, value = COOKIES[plugin.kind]
    if os.environ.get(key) != value:
        prog = os.path.basename(sys.argv[0])
        others = [k for k, (ck, cv) in COOKIES.items() if k != plugin.kind and os.environ.get(ck) == cv]
        if others:
            msg = "%s is a grpo %s plugin, but grpo started it as a %s plugin" % (prog, plugin.kind, others[0])
        else:
            msg = ("%s is a grpo %s plugin (a go-plugin process): it is started by grpo, not by hand. "
                   "Try: grpo plugin inspect %s" % (prog, plugin.kind, sys.argv[0]))
        print(msg, file=sys.stderr)
        sys.exit(1)
    offered = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(PROTOCOL_VERSION)).split(",")
    if str(PROTOCOL_VERSION) not in offered:
        log.warning("grpo offers protocol versions %s; this module speaks %d" % (offered, PROTOCOL_VERSION))

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # grpo stops its plugins itself (like go-plugin)
    _watch_parent()

    sock_dir = tempfile.mkdtemp(prefix="grpo-plugin-", dir=os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or None)
    sock = os.path.join(sock_dir, "plugin.sock")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", 1 << 30),
                                  ("grpc.max_send_message_length", 1 << 30)])
    server.add_generic_rpc_handlers(plugin.handlers())
    cert = ""
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT")
    if client_cert:
        creds, cert = _server_credentials(client_cert)
        server.add_secure_port("unix:" + sock, creds)
    else:
        server.add_insecure_port("unix:" + sock)
    server.start()

    line = "%d|%d|unix|%s|grpc" % (CORE_PROTOCOL_VERSION, PROTOCOL_VERSION, sock)
    if cert:
        line += "|" + cert
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    sys.stdout = sys.stderr  # stray print()s must not reach the handshake pipe
    log.debug("serving %s plugin %s on %s" % (plugin.kind, plugin.describe.get("name"), sock))

    plugin.stopped.wait()
    server.stop(grace=0.5).wait()
    try:
        os.unlink(sock)
        os.rmdir(sock_dir)
    except OSError:
        pass
    sys.exit(0)


def _describe(name, version, description):
    if name is None:
        name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    d = {"name": name}
    if version:
        d["version"] = version
    if description:
        d["description"] = description
    return d


def serve_reward(fn, name=None, version="", description="", configure=None):
    """Serves fn as a reward plugin; never returns.

    fn(batch) gets {"abi", "seed", "items": [{"prompt", "completion", "metadata"}]} and returns a
    list with one number or None per item, or a dict {"rewards", "components", "info"}.
    configure(settings), if given, receives the plugin's settings table before any batch."""
    _serve(_Plugin("reward", fn, _describe(name, version, description), configure))


def serve_template(fn, name=None, version="", description="", configure=None):
    """Serves fn as a template plugin; never returns.

    fn(request) gets {"abi", "vars": {...}, "row": {...}} and returns the prompt text (str), chat
    messages (a list of {"role", "content"}), or a dict {"prompt"} / {"messages"}."""
    _serve(_Plugin("template", fn, _describe(name, version, description), configure))


def serve_generator(fn, name=None, version="", description="", configure=None, sync_weights=None):
    """Serves fn as a generation backend; never returns.

    fn(request) gets {"abi", "prompts": [{"text", "ids"}], "n", "sampling": {...},
    "max_prompt_tokens"} and returns len(prompts)*n completions, prompt-major, each
    {"prompt", "prompt_ids", "ids", "text", "finish_reason": "stop"|"length", "logprobs"}.
    sync_weights(request), if given, loads {"dir", "step"} (Hugging Face layout) and must be done
    with the directory when it returns."""
    _serve(_Plugin("generator", fn, _describe(name, version, description), configure, sync_weights))
