"""template.yaml as the local stack reads it: the one source of truth for routes, event
source mappings, resources and each function's environment.

CloudFormation's short tags (`!Ref`, `!Sub`, `!GetAtt`, ...) are loaded as their long forms
(`{"Ref": ...}`, `{"Fn::Sub": ...}`), and `Resolver` evaluates the intrinsics the template
uses against the local stack's physical resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", lambda loader, suffix, node: _intrinsic(loader, suffix, node))


def load(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)  # noqa: S506 - SafeLoader subclass


# ---------------------------------------------------------------------------------------
# Intrinsics
# ---------------------------------------------------------------------------------------


class Resolver:
    """Evaluates `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join` and `Fn::Select` with
    `refs[logical_id]` (what `Ref` returns) and `attrs[(logical_id, attribute)]`."""

    def __init__(self, template: dict, refs: dict[str, Any], attrs: dict[tuple[str, str], Any], stack: str):
        self.refs = dict(refs)
        self.attrs = dict(attrs)
        for name, p in (template.get("Parameters") or {}).items():
            default = p.get("Default")
            if p.get("Type") == "CommaDelimitedList" and isinstance(default, str):
                default = [x.strip() for x in default.split(",")]
            self.refs.setdefault(name, default)
        self.refs.update(
            {
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::Partition": "aws",
                "AWS::StackName": stack,
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::NoValue": None,
            }
        )

    def ref(self, name: str) -> Any:
        if name not in self.refs:
            raise KeyError(f"template.yaml: !Ref {name}: no such parameter or local resource")
        return self.refs[name]

    def getatt(self, name: str, attr: str) -> Any:
        if (name, attr) not in self.attrs:
            raise KeyError(f"template.yaml: !GetAtt {name}.{attr}: not provided by the local stack")
        return self.attrs[(name, attr)]

    def sub(self, text: str, extra: dict | None = None) -> str:
        def one(m: re.Match) -> str:
            key = m.group(1)
            if key.startswith("!"):
                return "${" + key[1:] + "}"
            if extra and key in extra:
                return str(extra[key])
            if "." in key and not key.startswith("AWS::"):
                return str(self.getatt(*key.split(".", 1)))
            return str(self.ref(key))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (k, v), = value.items()
            if k == "Ref":
                return self.ref(v)
            if k == "Fn::GetAtt":
                return self.getatt(*v)
            if k == "Fn::Sub":
                if isinstance(v, list):
                    return self.sub(v[0], {n: self(x) for n, x in v[1].items()})
                return self.sub(v)
            if k == "Fn::Join":
                return v[0].join(str(self(x)) for x in v[1])
            if k == "Fn::Select":
                return self(v[1])[int(self(v[0]))]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


# ---------------------------------------------------------------------------------------
# What the template declares
# ---------------------------------------------------------------------------------------


@dataclass
class HttpRoute:
    function: str
    method: str  # "ANY" or an HTTP method
    path: str  # "/api/v1/datasets/{proxy+}"
    payload_version: str

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass
class SqsMapping:
    function: str
    queue: str  # the queue's logical id
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class FunctionSpec:
    logical_id: str
    binary: str
    code_uri: str
    timeout: int
    memory: int
    environment: dict  # unresolved Variables (Globals merged)
    layers: list  # unresolved
    function_url: dict | None
    routes: list[HttpRoute] = field(default_factory=list)
    sqs: list[SqsMapping] = field(default_factory=list)


def _queue_logical_id(value: Any) -> str:
    # `Queue: !GetAtt ParseQueue.Arn`
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    raise ValueError(f"template.yaml: an SQS event's Queue must be !GetAtt <Queue>.Arn, not {value!r}")


def functions(template: dict) -> list[FunctionSpec]:
    """Every `AWS::Serverless::Function` with its Globals applied."""
    glob = ((template.get("Globals") or {}).get("Function")) or {}
    out = []
    for lid, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties") or {}
        meta = res.get("Metadata") or {}
        env = dict(((glob.get("Environment") or {}).get("Variables")) or {})
        env.update(((props.get("Environment") or {}).get("Variables")) or {})
        spec = FunctionSpec(
            logical_id=lid,
            binary=(meta.get("BuildProperties") or {}).get("Binary") or "bootstrap",
            code_uri=props.get("CodeUri", ""),
            timeout=int(props.get("Timeout", glob.get("Timeout", 3))),
            memory=int(props.get("MemorySize", glob.get("MemorySize", 128))),
            environment=env,
            layers=list(props.get("Layers", glob.get("Layers", [])) or []),
            function_url=props.get("FunctionUrlConfig"),
        )
        for ev in (props.get("Events") or {}).values():
            ep = ev.get("Properties") or {}
            if ev.get("Type") == "HttpApi":
                spec.routes.append(
                    HttpRoute(
                        function=lid,
                        method=str(ep.get("Method", "ANY")).upper().replace("*", "ANY"),
                        path=ep.get("Path", "$default"),
                        payload_version=str(ep.get("PayloadFormatVersion", "2.0")),
                    )
                )
            elif ev.get("Type") == "SQS":
                spec.sqs.append(
                    SqsMapping(
                        function=lid,
                        queue=_queue_logical_id(ep.get("Queue")),
                        batch_size=int(ep.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in (ep.get("FunctionResponseTypes") or []),
                    )
                )
        out.append(spec)
    return out


def resources_of(template: dict, type_: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r.get("Type") == type_}


# ---------------------------------------------------------------------------------------
# API Gateway HTTP API route selection
# ---------------------------------------------------------------------------------------


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s != ""]


def _match(route_path: str, path: str) -> dict[str, str] | None:
    """Path parameters if `path` matches `route_path`, else None."""
    rs, ps = _segments(route_path), _segments(path)
    params: dict[str, str] = {}
    for i, seg in enumerate(rs):
        if seg.startswith("{") and seg.endswith("+}"):
            rest = ps[i:]
            if not rest:
                return None  # a greedy variable needs at least one segment
            params[seg[1:-2]] = "/".join(rest)
            return params
        if i >= len(ps):
            return None
        if seg.startswith("{") and seg.endswith("}"):
            params[seg[1:-1]] = ps[i]
        elif seg != ps[i]:
            return None
    return params if len(rs) == len(ps) else None


def _specificity(route: HttpRoute) -> tuple:
    # API Gateway's rule: the most specific route wins. Segment by segment a literal beats a
    # variable, which beats a greedy variable; a route with a method beats ANY.
    rank = []
    for seg in _segments(route.path):
        if seg.endswith("+}"):
            rank.append(0)
        elif seg.startswith("{"):
            rank.append(1)
        else:
            rank.append(2)
    return (rank, 0 if route.method == "ANY" else 1)


def select_route(routes: list[HttpRoute], method: str, path: str) -> tuple[HttpRoute, dict] | None:
    """The route API Gateway would choose for `method path`, with its path parameters;
    `$default` last; None when nothing matches (API Gateway answers 404)."""
    candidates = []
    default = None
    for r in routes:
        if r.path == "$default":
            default = r
            continue
        if r.method not in ("ANY", method.upper()):
            continue
        params = _match(r.path, path)
        if params is not None:
            candidates.append((_specificity(r), r, params))
    if candidates:
        candidates.sort(key=lambda c: c[0], reverse=True)
        return candidates[0][1], candidates[0][2]
    if default is not None:
        return default, {}
    return None


def _self_check() -> None:
    routes = [
        HttpRoute("A", "ANY", "/api/v1/datasets/{proxy+}", "2.0"),
        HttpRoute("B", "ANY", "/api/v1/datasets/{dataset_id}/documents", "2.0"),
        HttpRoute("C", "ANY", "/api/v1/datasets/{dataset_id}/documents/{document_id}/chunks", "2.0"),
        HttpRoute("D", "ANY", "/api/v1/datasets", "2.0"),
    ]
    assert select_route(routes, "GET", "/api/v1/datasets")[0].function == "D"
    assert select_route(routes, "GET", "/api/v1/datasets/x/documents")[0].function == "B"
    r, p = select_route(routes, "GET", "/api/v1/datasets/x/documents/y/chunks")
    assert r.function == "C" and p == {"dataset_id": "x", "document_id": "y"}
    r, p = select_route(routes, "GET", "/api/v1/datasets/x/knowledge_graph")
    assert r.function == "A" and p == {"proxy": "x/knowledge_graph"}
    assert select_route(routes, "GET", "/api/v1/other") is None


Check = Callable[[], None]
