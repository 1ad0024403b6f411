"""Every answer the contract suite sees is held to the shipped OpenAPI document: the
operation must document the status, the body must match its schema, and the headers
it names as required must be there. Any drift between the wire layer and the document
fails the test that saw it."""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ayra_tickets.wire import Response, openapi_document

URI = "urn:ayra-tickets:openapi"


DOCUMENT = openapi_document()


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(URI, DRAFT202012.create_resource(DOCUMENT))


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{URI}#{pointer}"},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in DOCUMENT["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        found.append((re.compile(pattern), template))
    return found


def check(method: str, path: str, response: Response) -> None:
    """Fail if ``response`` (to ``method path``) breaks the document."""
    route = urlsplit(path).path
    document = DOCUMENT
    template = next((t for pattern, t in _templates() if pattern.fullmatch(route)), None)
    operation = None
    if template is not None:
        operation = document["paths"][template].get(method.lower())
    assert "Request-Id" in response.headers, f"{method} {path}: no Request-Id header"
    assert response.headers.get("Content-Type") == "application/json", response.headers
    if route == "/openapi.json" and method.upper() == "GET":
        assert response.json == document
    if operation is None:
        # An undocumented route or method: only 404 route_not_found or 405 may answer.
        expected = 404 if template is None else 405
        assert response.status == expected, f"{method} {path}: {response.status}, not {expected}"
        _validator("/components/schemas/Error").validate(response.json)
        if expected == 405:
            assert "Allow" in response.headers
        return
    answers = operation["responses"]
    assert str(response.status) in answers, (
        f"{method} {path} answered {response.status}, which the document does not list"
        f" for {method.upper()} {template} ({', '.join(answers)})"
    )
    pointer = "/".join(
        ["", "paths", _escape(template), method.lower(), "responses", str(response.status)]
    )
    documented = answers[str(response.status)]
    schema = f"{pointer}/content/application~1json/schema"
    errors = sorted(_validator(schema).iter_errors(response.json), key=lambda e: e.path)
    assert not errors, f"{method} {path} -> {response.status}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:3]
    )
    for name, header in documented.get("headers", {}).items():
        if "$ref" in header:
            header = document["components"]["headers"][header["$ref"].rsplit("/", 1)[1]]
        if header.get("required"):
            assert name in response.headers, f"{method} {path}: no {name} header"
            pattern = header["schema"].get("pattern")
            if pattern:
                assert re.search(pattern, response.headers[name]), (name, response.headers[name])
