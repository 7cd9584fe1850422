"""`python -m localaws serve ...`: the local AWS stack's supervisor (one process group).

Creates template.yaml's resources on moto, builds its layers, starts the runtime emulator
and every function's binary with its environment, the API Gateway front and the Function
URL fronts, and the SQS event source mappings; writes `stack.json` (the URLs and names)
once everything answers; stops it all on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import resources, template as tpl
from .front import Front, Invoker
from .mappings import SqsPoller
from .runtime import Runtime, cargo_lambda_path

STACK = "lambdarag-local"


def log(msg: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} local-aws: {msg}\n")
    sys.stderr.flush()


def build_layers(template: dict, repo: Path, state: Path) -> dict[str, Path]:
    """Each `AWS::Serverless::LayerVersion` built as `sam build` builds it (`BuildMethod:
    makefile`: `make build-<LogicalId>` with ARTIFACTS_DIR), once per state dir."""
    out = {}
    for lid, res in tpl.resources_of(template, "AWS::Serverless::LayerVersion").items():
        props = res.get("Properties") or {}
        src = repo / props["ContentUri"]
        dest = state / "layers" / lid
        method = (res.get("Metadata") or {}).get("BuildMethod")
        if method == "makefile":
            dest.mkdir(parents=True, exist_ok=True)
            log(f"building layer {lid} (make build-{lid})")
            subprocess.run(["make", "-s", "-C", str(src), f"build-{lid}", f"ARTIFACTS_DIR={dest}"],
                           check=True, stdout=sys.stderr)
        else:
            dest = src
        out[lid] = dest
    return out


def opt_dir(fn: tpl.FunctionSpec, layers: dict[str, Path], resolve: tpl.Resolver, workdir: Path) -> Path | None:
    """The function's /opt: its layers' contents merged (symlinks), as Lambda extracts them."""
    names = []
    for layer in fn.layers:
        if isinstance(layer, dict) and "Ref" in layer and layer["Ref"] in layers:
            names.append(layer["Ref"])
    if not names:
        return None
    opt = workdir / "opt"
    opt.mkdir(parents=True, exist_ok=True)
    for name in names:
        for entry in layers[name].iterdir():
            link = opt / entry.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(entry.resolve())
    return opt


def function_env(fn: tpl.FunctionSpec, resolve: tpl.Resolver, *, moto_url: str, opensearch_url: str,
                 opensearch_endpoint: str, opt: Path | None, log_level: str | None) -> dict[str, str]:
    env = {k: "" if v is None else str(v) for k, v in resolve(fn.environment).items()}
    for k, v in list(env.items()):
        # The local node serves plain HTTP where the domain serves HTTPS.
        if v == f"https://{opensearch_endpoint}":
            env[k] = opensearch_url
        if opt is not None and (v == "/opt" or v.startswith("/opt/")):
            env[k] = str(opt) + v[len("/opt"):]
    if log_level:
        env["RUST_LOG"] = log_level
    env.update(
        {
            # What Lambda gives every function: region and (role) credentials; the endpoint
            # override points the SDKs at moto.
            "AWS_REGION": tpl.REGION,
            "AWS_DEFAULT_REGION": tpl.REGION,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "local",
            "AWS_ENDPOINT_URL": moto_url,
        }
    )
    return env


def main() -> int:
    ap = argparse.ArgumentParser(prog="localaws")
    ap.add_argument("command", choices=["serve"])
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--state-dir", type=Path, required=True)
    ap.add_argument("--bin-dir", type=Path, required=True, help="where the function binaries are")
    ap.add_argument("--moto-url", required=True)
    ap.add_argument("--opensearch-url", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--api-port", type=int, default=9480)
    ap.add_argument("--emulator-port", type=int, default=9490)
    ap.add_argument("--instances", type=int, default=2, help="processes per function")
    ap.add_argument("--log-level", default=None, help="RUST_LOG for every function (default: the template's)")
    args = ap.parse_args()

    repo, state = args.repo.resolve(), args.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    (state / "functions").mkdir(exist_ok=True)
    template = tpl.load(repo / "template.yaml")
    specs = tpl.functions(template)

    os_endpoint = args.opensearch_url.split("://", 1)[-1].rstrip("/")
    extra_attrs = {}
    for lid in tpl.resources_of(template, "AWS::OpenSearchService::Domain"):
        extra_attrs[(lid, "DomainEndpoint")] = os_endpoint
        extra_attrs[(lid, "Arn")] = f"arn:aws:es:{tpl.REGION}:{tpl.ACCOUNT_ID}:domain/{STACK}"
        extra_attrs[(lid, "DomainArn")] = extra_attrs[(lid, "Arn")]
    try:
        layers = build_layers(template, repo, state)
        extra_refs = {lid: f"arn:aws:lambda:{tpl.REGION}:{tpl.ACCOUNT_ID}:layer:{lid}:1" for lid in layers}
        log(f"creating the template's resources on {args.moto_url}")
        resolve = resources.create(template, args.moto_url, STACK, extra_refs, extra_attrs)
    except Exception as e:  # noqa: BLE001 - one clear line instead of a traceback
        log(f"cannot start: {type(e).__name__}: {e}")
        return 1

    runtime = Runtime(cargo_lambda_path(), repo, args.host, args.emulator_port, state, logger=log)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    fronts: list[Front] = []
    pollers: list[SqsPoller] = []
    try:
        for fn in specs:
            # `cargo build` output (<dir>/<binary>) or cargo lambda's (<dir>/<binary>/bootstrap).
            exe = args.bin_dir / fn.binary
            if exe.is_dir():
                exe = exe / "bootstrap"
            if not exe.is_file():
                raise RuntimeError(f"{fn.logical_id}: no binary at {exe} (build it first)")
            workdir = state / "functions" / fn.logical_id
            workdir.mkdir(parents=True, exist_ok=True)
            opt = opt_dir(fn, layers, resolve, workdir)
            env = function_env(fn, resolve, moto_url=args.moto_url, opensearch_url=args.opensearch_url,
                               opensearch_endpoint=os_endpoint, opt=opt, log_level=args.log_level)
            runtime.add(fn, env, exe, args.instances)
            log(f"{fn.logical_id}: {fn.binary} x{args.instances} on emulator :{runtime.functions[fn.logical_id].emulator.port}")
        threading.Thread(target=runtime.supervise, name="supervise", daemon=True).start()

        invoker = Invoker(runtime.target)
        routes = [r for fn in specs for r in fn.routes]
        api = Front(invoker, args.host, args.api_port, routes=routes,
                    timeouts={fn.logical_id: fn.timeout for fn in specs}, logger=log)
        api.serve_in_thread()
        fronts.append(api)
        urls = {}
        port = args.api_port + 1
        for fn in specs:
            if fn.function_url is None:
                continue
            f = Front(invoker, args.host, port, function=fn.logical_id, function_timeout=fn.timeout, logger=log)
            f.serve_in_thread()
            fronts.append(f)
            urls[fn.logical_id] = f"http://{args.host}:{f.port}"
            port += 1

        for fn in specs:
            for m in fn.sqs:
                # As Lambda's pollers do, several batches of one queue are in flight at once
                # (here one per function process).
                p = SqsPoller(m, resolve.ref(m.queue), resolve.getatt(m.queue, "Arn"), fn.timeout, invoker,
                              args.moto_url, logger=log, pollers=args.instances)
                p.start()
                pollers.append(p)

        info = {
            "pid": os.getpid(),
            "base_url": f"http://{args.host}:{api.port}",
            "function_urls": urls,
            "table": resolve.ref("MetadataTable"),
            "bucket": resolve.ref("DocumentsBucket"),
            "queues": {lid: resolve.ref(lid) for lid in tpl.resources_of(template, "AWS::SQS::Queue")},
            "moto_url": args.moto_url,
            "opensearch_url": args.opensearch_url,
            "routes": [r.route_key + " -> " + r.function for r in routes],
            # Direct invocation (events/, `cargo lambda invoke`), bypassing the fronts.
            "functions": {
                lid: {
                    "binary": f.spec.binary,
                    "invoke_url": "http://{}:{}/2015-03-31/functions/{}/invocations".format(*runtime.target(lid)),
                    # InvokeWithResponseStream: an application/vnd.amazon.eventstream body.
                    "streaming_invoke_url": "http://{}:{}/2015-03-31/functions/{}/response-streaming-invocations".format(
                        *runtime.target(lid)),
                    "function_url_prefix": "http://{}:{}/lambda-url/{}".format(*runtime.target(lid)),
                }
                for lid, f in runtime.functions.items()
            },
        }
        tmp = state / "stack.json.tmp"
        tmp.write_text(json.dumps(info, indent=2))
        tmp.replace(state / "stack.json")
        log(f"ready: {info['base_url']}")
        stop.wait()
    except Exception as e:  # noqa: BLE001 - report and tear down what was started
        log(f"cannot start: {type(e).__name__}: {e}")
        return 1
    finally:
        log("stopping")
        for p in pollers:
            p.stop.set()
        for f in fronts:
            f.server.shutdown()
        runtime.stop()
        (state / "stack.json").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
