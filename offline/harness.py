"""Run the real ``__main__.py`` for one stack under Pulumi's mock runtime and capture everything.

This is what the offline render and the tests share: config comes from ``Pulumi.<stack>.yaml``
exactly as the CLI would pass it (objects as JSON text, secure values as secret keys), the
program runs in preview mode, and every registration is recorded with its wire-level inputs,
parent, provider and options. No CLI, no plugin, no credentials.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import logging
import os
import runpy
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import Stack
from pulumi.runtime.sync_await import _sync_await

from offline.yaml_reader import load_yaml_all
from settings import stackfile
from settings.stackfile import PROJECT, ROOT, parse_stack_file


class Unknown:
    """A value only the cloud knows (an ID, an ARN, a generated name): never invented."""

    def __repr__(self) -> str:
        return "<unknown>"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    provider: str
    custom: bool
    inputs: dict
    protect: bool
    depends_on: list[str]
    import_id: str = ""  # Pulumi's `import` option: the live object the first `up` takes over
    ignore_changes: list[str] = field(default_factory=list)


@dataclass
class StackOutput:
    value: Any
    secret: bool
    known: bool


@dataclass
class RunResult:
    stack: str
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, StackOutput] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what `pulumi preview` would print as warnings
    # The program's validated settings (its `settings` global), for files built beside the resources.
    settings: Any = None

    def by_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> Registration:
        found = self.by_type(type_token)
        assert len(found) == 1, f"expected one {type_token}, found {len(found)}"
        return found[0]


def stack_names() -> list[str]:
    """Every stack with a settings file: a new Pulumi.<stack>.yaml is picked up with no code."""
    return stackfile.stack_names()


class _Mocks(pulumi_mocks.Mocks):
    def __init__(self) -> None:
        super().__init__()
        # The monitor calls new_resource from RegisterResource, on the same thread (the SDK runs
        # several registrations at once, on several threads): the inputs it already decoded.
        self.decoded = threading.local()

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        self.decoded.inputs = args.inputs
        # Preview semantics: no ID, and no output beyond what the program itself sent.
        return "", {}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list]:
        return {}, []

    def close(self) -> None:
        """The run has ended: nothing more may be answered (EmulatorMocks waits for its requests)."""


CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def cluster_crds() -> dict[str, dict]:
    """The definitions a cluster running the required operators serves (offline/crds.yaml)."""
    documents = load_yaml_all((ROOT / "offline" / "crds.yaml").read_text())
    return {document["metadata"]["name"]: document for document in documents}


class _Monitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also recording parent, provider and options of each resource, and
    answering the program's reads of the cluster from ``crds`` (name -> definition)."""

    mocks: _Mocks

    def __init__(self, mocks: _Mocks | None = None, crds: dict[str, dict] | None = None) -> None:
        super().__init__(mocks or _Mocks())
        self.registrations: list[Registration] = []
        self.crds = cluster_crds() if crds is None else crds

    def ReadResource(  # noqa: N802 (gRPC method name)
        self, request: resource_pb2.ReadResourceRequest
    ) -> resource_pb2.ReadResourceResponse:
        if request.type == CRD_TYPE:
            if request.id not in self.crds:
                raise Exception(f"resource '{request.id}' does not exist")  # the engine's words
            found = self.crds[request.id]
            state = {"apiVersion": found["apiVersion"], "kind": found["kind"], **found}
            urn = self.make_urn(request.parent, request.type, request.name)
            properties = _sync_await(rpc.serialize_properties(state, {}))
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, request.id, state)
            return pulumi_mocks.resource_pb2.ReadResourceResponse(urn=urn, properties=properties)
        return super().ReadResource(request)

    def RegisterResource(  # noqa: N802 (gRPC method name)
        self, request: resource_pb2.RegisterResourceRequest
    ) -> resource_pb2.RegisterResourceResponse:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    provider=request.provider,
                    custom=request.custom,
                    inputs=plain(self.mocks.decoded.inputs),
                    protect=request.protect,
                    depends_on=sorted(request.dependencies),
                    import_id=request.importId,
                    ignore_changes=list(request.ignoreChanges),
                )
            )
        return response


class _Warnings(logging.Logger):
    """The mock engine's logger: keeps the program's warnings, as `pulumi preview` shows them."""

    def __init__(self) -> None:
        super().__init__("offline-render", logging.WARNING)
        self.messages: list[str] = []

    def warning(self, msg: object, *args: object, **kwargs: object) -> None:
        self.messages.append(str(msg))


class Secret:
    """A value Pulumi would encrypt in state: rendered as a marker, never as itself."""

    def __repr__(self) -> str:
        return "<secret>"


def plain(value: Any) -> Any:
    """Wire values to plain Python: integral floats back to int, secrets and unknowns marked."""
    if rpc.is_rpc_secret(value):
        return Secret()
    if isinstance(value, pulumi.output.Unknown) or value == rpc.UNKNOWN:
        return Unknown()
    if isinstance(value, (pulumi.AssetArchive, pulumi.FileAsset)):
        return _asset(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _asset(value: Any) -> dict:
    """A function's code as a reviewer reads it: each file and a digest of its content."""
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {name: _asset(member) for name, member in sorted(value.assets.items())}}
    path = Path(value.path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path), "sha256": digest}


class StackRun:
    """One run of the program; ``registrations`` stays readable when the program raises."""

    def __init__(
        self,
        stack: str,
        config: dict[str, str] | None = None,
        secret_keys: list[str] | None = None,
        environ: dict[str, str] | None = None,
        *,
        mocks: _Mocks | None = None,
        preview: bool = True,
        crds: dict[str, dict] | None = None,
    ):
        """``mocks`` answer registrations and invokes (default: preview semantics, nothing known
        after apply); ``preview=False`` runs the program as `pulumi up` does (rehearsal/emulator.py);
        ``crds``: what the cluster serves (default: offline/crds.yaml, the required operators)."""
        if config is None:
            config, secret_keys = stack_config(stack)
        self.stack, self.config, self.secret_keys = stack, config, secret_keys or []
        self.environ = environ or {}
        self.preview = preview
        self.monitor = _Monitor(mocks, crds)
        self.registrations = self.monitor.registrations

    def execute(self) -> RunResult:
        """Run ``__main__.py``; raises what the program raises (pulumi.RunError on bad config).

        Each run has a thread and an event loop of its own, both ended with it, as each `pulumi
        preview` or `up` is a process of its own: nothing a stopped run left pending resumes in the
        next (rehearsal/emulator.py). From a new thread the call stack the SDK records for every
        resource (pulumi.runtime.resource._get_stack_trace, each frame's file read and made a URI)
        is the program's own, not that of whatever called the run: under pytest some 35 frames
        more, which made up about a fifth of a run."""
        outcome: list[RunResult | BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            loop.set_exception_handler(functools.partial(_unretrieved_after_failure, outcome))
            executor = _Executor()
            loop.set_default_executor(executor)
            asyncio.set_event_loop(loop)
            try:
                outcome.append(self._execute())
            except BaseException as error:  # re-raised on the caller's thread
                outcome.append(error)
            try:
                _end(loop, executor, self.monitor.mocks)
            except BaseException as error:  # a clean-up that failed fails the run, unless the run failed first
                if not isinstance(outcome[0], BaseException):
                    outcome[0] = error

        # A daemon: an operator's Ctrl-C ends a render or a rehearsal, not only the wait for it.
        thread = threading.Thread(target=run, name=f"pulumi run {self.stack}", daemon=True)
        thread.start()
        thread.join()
        (found,) = outcome
        if isinstance(found, BaseException):
            raise found
        return found

    def _execute(self) -> RunResult:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        # A fresh Stack per run, not the previous run's. The SDK's annotation leaves out the None its
        # context variable holds before any program runs.
        pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
        pulumi.runtime.set_all_config(self.config, self.secret_keys)
        warnings = _Warnings()
        pulumi.runtime.set_mocks(
            self.monitor.mocks,
            project=PROJECT,
            stack=self.stack,
            preview=self.preview,
            monitor=self.monitor,
            logger=warnings,
        )

        namespace: dict = {}

        @pulumi.runtime.test
        def program() -> None:
            namespace.update(runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"))

        with _environment(self.environ):
            program()
        settings = namespace.get("settings")
        result = RunResult(self.stack, self.registrations, warnings=warnings.messages, settings=settings)
        root = pulumi_settings.get_root_resource()
        if not isinstance(root, Stack):
            raise RuntimeError(f"the program registered no stack resource (the root resource is {root!r})")
        for name, exported in sorted(root.outputs.items()):
            output = pulumi.Output.from_input(exported)
            known = _sync_await(output.is_known())
            value = plain(_sync_await(output.future(with_unknowns=True))) if known else Unknown()
            result.outputs[name] = StackOutput(value=value, secret=_sync_await(output.is_secret()), known=known)
        return result


def _unretrieved_after_failure(outcome: list, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The run's loop's exception handler. Once a run has failed, every output that depended on what
    failed holds the same error, and each one collected says so (asyncio's "Future exception was
    never retrieved", a traceback each: a refused definition read leaves some 900 in a run); the run's
    error, raised to the caller, says it once. Anything else, and all of a run that succeeded, goes
    to asyncio's own handler."""
    failed = bool(outcome) and isinstance(outcome[0], BaseException)
    if failed and "exception was never retrieved" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


class _Executor(ThreadPoolExecutor):
    """A run's default executor, through which the SDK sends each registration to the monitor. The
    SDK gives a thread without an event loop one of its own and never closes it: each thread here
    gets its loop from the executor, which ``_end`` closes once the threads are done (left to the
    collector, an unclosed loop warns, and one collected with its sockets fails to close)."""

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        super().__init__(thread_name_prefix="pulumi-rpc", initializer=self._loop_for_thread)

    def _loop_for_thread(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loops.append(loop)


def _end(loop: asyncio.AbstractEventLoop, executor: _Executor, mocks: _Mocks) -> None:
    """A run's end: its mocks closed while the loop still runs (requests under way finish, nothing
    more is answered), then what asyncio.run does at the end, until nothing is left: the tasks
    cancelled, the executor's threads ended (and their loops closed), then what those threads handed
    back last (an RPC's result that starts another output's task) cancelled too, so closing the loop
    drops no task that never started. The loop is closed even when the mocks fail to close."""
    try:
        mocks.close()
    finally:
        _end_loop(loop, executor)


def _end_loop(loop: asyncio.AbstractEventLoop, executor: _Executor) -> None:
    def cancel_all() -> None:
        while tasks := asyncio.all_tasks(loop):
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    cancel_all()
    loop.run_until_complete(loop.shutdown_default_executor())
    for thread_loop in executor.loops:
        thread_loop.close()
    loop.run_until_complete(asyncio.sleep(0))
    cancel_all()
    asyncio.set_event_loop(None)
    loop.close()


def stack_document(stack: str, root: Path = ROOT) -> dict:
    """The ``config:`` mapping of ``Pulumi.<stack>.yaml``, as written: a copy of its own, which
    the caller may change. Parsed once per content (the tests read each file hundreds of times)."""
    path = root / f"Pulumi.{stack}.yaml"
    return copy.deepcopy(_parsed(path, path.read_bytes()))


_parsed = functools.lru_cache(maxsize=32)(parse_stack_file)


def stack_config(stack: str, root: Path = ROOT) -> tuple[dict[str, str], list[str]]:
    """The stack file's config as the Pulumi CLI hands it to a program."""
    return to_wire(stack_document(stack, root))


def to_wire(document: dict) -> tuple[dict[str, str], list[str]]:
    """This project's config as the Pulumi CLI would hand it over."""
    return stackfile.to_wire(document, PROJECT)


# The channel the Pulumi CLI passes config through: the render passes the stack file's config
# itself, so a PULUMI_CONFIG left in the shell must not add to it. Nothing else is cleared: a
# render sees the operator's KUBECONFIG and PULUMI_K8S_* as `pulumi preview` would, and the
# program must not depend on them (tests/components/kubernetes/test_provider.py proves it under hostile values).
_AMBIENT = ("PULUMI_CONFIG",)


@contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(_AMBIENT):
            del os.environ[name]
    os.environ.update(overrides)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_stack(stack: str, config: dict[str, str] | None = None, secret_keys: list[str] | None = None) -> RunResult:
    """Run the program for ``stack`` with its stack file's config, or the config given."""
    return StackRun(stack, config, secret_keys).execute()
