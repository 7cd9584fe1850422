"""The Lambda runtime side: `cargo lambda watch --only-lambda-apis` as the runtime
emulator (Runtime API + Invoke API), and every function as its real binary, started with
the environment template.yaml gives it plus what Lambda itself sets.

cargo-lambda knows a function by its binary name, so two functions built from one binary
(`SessionsFunction` and `SessionsStreamFunction` both run `sessions`, with different
environments) get separate emulator instances. A function process that exits is started
again, as Lambda starts a new execution environment.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import template as tpl


@dataclass
class Emulator:
    port: int
    proc: subprocess.Popen
    binaries: set[str] = field(default_factory=set)


@dataclass
class Instance:
    proc: subprocess.Popen
    started: float
    log: Path


@dataclass
class Function:
    spec: tpl.FunctionSpec
    env: dict[str, str]
    executable: Path
    emulator: Emulator
    workdir: Path
    instances: list[Instance] = field(default_factory=list)
    restarts: int = 0


class Runtime:
    def __init__(self, cargo_lambda: str, repo: Path, host: str, first_port: int, state_dir: Path, logger=print):
        self.cargo_lambda = cargo_lambda
        self.repo = repo
        self.host = host
        self.next_port = first_port
        self.state_dir = state_dir
        self.log = logger
        self.emulators: list[Emulator] = []
        self.functions: dict[str, Function] = {}
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    # -- emulators ---------------------------------------------------------------------

    def _start_emulator(self) -> Emulator:
        port = self.next_port
        self.next_port += 1
        log = open(self.state_dir / f"emulator-{port}.log", "ab")
        proc = subprocess.Popen(
            [self.cargo_lambda, "lambda", "watch", "--only-lambda-apis", "--ignore-changes", "--disable-cors",
             "-A", self.host, "-P", str(port)],
            cwd=self.repo, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited with {proc.returncode}; see {log.name}")
            try:
                # Any HTTP answer means it listens (an unknown function is a 404).
                urllib.request.urlopen(f"http://{self.host}:{port}/2015-03-31/functions/_/invocations", timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"cargo lambda watch did not listen on {port} within 30 s; see {log.name}")
            time.sleep(0.1)
        emu = Emulator(port=port, proc=proc)
        self.emulators.append(emu)
        return emu

    def emulator_for(self, binary: str) -> Emulator:
        for emu in self.emulators:
            if binary not in emu.binaries:
                emu.binaries.add(binary)
                return emu
        emu = self._start_emulator()
        emu.binaries.add(binary)
        return emu

    # -- functions ---------------------------------------------------------------------

    def add(self, spec: tpl.FunctionSpec, env: dict[str, str], executable: Path, instances: int) -> Function:
        emu = self.emulator_for(spec.binary)
        workdir = self.state_dir / "functions" / spec.logical_id
        workdir.mkdir(parents=True, exist_ok=True)
        lambda_env = {
            "AWS_LAMBDA_RUNTIME_API": f"http://{self.host}:{emu.port}/.rt/{spec.binary}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.logical_id}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
            "LAMBDA_TASK_ROOT": str(workdir),
            "LAMBDA_RUNTIME_DIR": str(workdir),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
        }
        fn = Function(spec=spec, env={**lambda_env, **env}, executable=executable, emulator=emu, workdir=workdir)
        self.functions[spec.logical_id] = fn
        for _ in range(instances):
            fn.instances.append(self._spawn(fn))
        return fn

    def _spawn(self, fn: Function) -> Instance:
        n = len(fn.instances) + fn.restarts
        log_path = self.state_dir / "functions" / f"{fn.spec.logical_id}.{n}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [str(fn.executable)], cwd=fn.workdir, env=fn.env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        return Instance(proc=proc, started=time.monotonic(), log=log_path)

    def target(self, function: str) -> tuple[str, int, str]:
        """(host, port, name) to invoke `function` (a logical id) on its emulator."""
        fn = self.functions[function]
        return self.host, fn.emulator.port, fn.spec.binary

    def supervise(self) -> None:
        """Start again any function process that exited (Lambda would start a new one)."""
        while not self.stopping.wait(0.5):
            for fn in self.functions.values():
                for i, inst in enumerate(fn.instances):
                    if inst.proc.poll() is None or self.stopping.is_set():
                        continue
                    fn.restarts += 1
                    tail = inst.log.read_bytes()[-600:].decode(errors="replace") if inst.log.exists() else ""
                    self.log(f"{fn.spec.logical_id}: process exited with {inst.proc.returncode}; "
                             f"starting a new one. Log tail: {tail}")
                    if time.monotonic() - inst.started < 2:
                        time.sleep(1)  # a function that cannot start must not spin
                    fn.instances[i] = self._spawn(fn)
            for emu in self.emulators:
                if emu.proc.poll() is not None and not self.stopping.is_set():
                    self.log(f"the runtime emulator on port {emu.port} exited with {emu.proc.returncode}")

    def stop(self) -> None:
        self.stopping.set()
        procs = [i.proc for fn in self.functions.values() for i in fn.instances] + [e.proc for e in self.emulators]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def cargo_lambda_path() -> str:
    """`cargo-lambda` next to this Python (the stack's venv), else on PATH."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "cargo-lambda"
    if beside.exists():
        return str(beside)
    found = shutil.which("cargo-lambda")
    if not found:
        raise RuntimeError("cargo-lambda is not installed (pip install cargo-lambda)")
    return found

