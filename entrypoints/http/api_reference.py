"""The API reference at /schema: Swagger UI from files pixrelay serves itself (works offline)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin

from entrypoints.http.openapi import ServedSchema

SWAGGER_UI = "/console/static/vendor/swagger-ui-5.18.2"


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI (vendored, see its README) showing the schema as /schema/openapi.json serves it."""

    def __init__(self) -> None:
        super().__init__(
            path="/swagger", js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js", css_url=f"{SWAGGER_UI}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER_UI}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_UI}/favicon-32x32.png'>")

    @staticmethod
    def render_json(request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return _SERVED.render(request, openapi_schema)


_SERVED = ServedSchema()
