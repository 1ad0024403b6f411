"""The shipped OpenAPI document and the wire layer name the same parameters, bodies and
routes: a parameter added to one and not the other fails here (the contract suite then
holds every answer to the document, see tests/openapi_check.py)."""

from __future__ import annotations

from ayra_tickets.domain.validation import CLOSE_PARAMS, CREATE_PARAMS, LIST_PARAMS, UPDATE_PARAMS
from ayra_tickets.wire import ROUTES, openapi_document

DOCUMENT = openapi_document()


def body_fields(name: str) -> set[str]:
    return set(DOCUMENT["components"]["schemas"][name]["properties"])


def test_the_document_names_exactly_the_bodies_fields_the_wire_takes() -> None:
    assert body_fields("CreateTicket") == set(CREATE_PARAMS)
    assert body_fields("UpdateTicket") == set(UPDATE_PARAMS)
    assert body_fields("CloseTicket") == set(CLOSE_PARAMS)
    assert DOCUMENT["components"]["schemas"]["CreateTicket"]["required"] == [
        "subject",
        "description",
    ]


def test_the_document_names_exactly_the_list_parameters_the_wire_takes() -> None:
    listed = DOCUMENT["paths"]["/v1/tickets"]["get"]["parameters"]
    assert [p["name"] for p in listed] == list(LIST_PARAMS)
    assert all(p["in"] == "query" and not p["required"] for p in listed)


def test_the_document_has_every_route_and_method_the_wire_answers() -> None:
    answered = {
        (pattern.pattern.replace("(?P<id>[^/]+)", "{id}"), method.lower())
        for pattern, methods in ROUTES
        for method in methods
    }
    documented = {
        (path, method)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert documented == answered | {("/openapi.json", "get")}


def test_every_schema_of_the_document_is_valid_json_schema_2020_12() -> None:
    from jsonschema import Draft202012Validator

    assert DOCUMENT["openapi"] == "3.1.0"  # whose dialect is JSON Schema 2020-12
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
