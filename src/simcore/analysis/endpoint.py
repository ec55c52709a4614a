"""A run's kinds as endpoints: what logs call them, and the routes a backend sent them to."""

from __future__ import annotations

from attrs import frozen

from simcore.scenario.schema import Config


@frozen
class Endpoint:
    """One kind as an endpoint: its name, the reference method and path logs record, and the
    route it is sent to (method and path template) by a backend that sends requests."""

    name: str
    method: str
    path: str
    id_from: str  # where the reference path's {id} comes from: "post", "ref" or "" (no {id})
    route_method: str
    route_path: str
    creates_post: bool = False  # an action of this kind brings a new post into being (its ``post``)


def endpoints_of(config: Config) -> tuple[Endpoint, ...]:
    """The endpoints of ``config``'s kinds, in code order."""
    routes = config.backend.routes
    out = []
    for spec in config.kind_set.specs:
        route = routes.get(spec.name)
        method, path = (route.method.upper(), route.path) if route else (spec.method, spec.route_path)
        made = spec.creates == "post"
        out.append(Endpoint(spec.name, spec.method, spec.path, spec.path_id, method, path, made))
    return tuple(out)


#: The reference app's endpoints (a config without routes or kinds of its own).
REFERENCE_ENDPOINTS = endpoints_of(Config())
