"""HTTP handlers of the model registry and the label stream (thin: parse, call, answer)."""

from __future__ import annotations

import json

from aiohttp import web

from service import registry, training_data
from service.api.handlers import body, principal, query, respond
from service.api.problems import ApiError
from service.api.schemas import ActivateIn, ModelListOut, ModelOut, ShadowIn, TrainingDataQuery
from service.appkeys import POOL, SCORER, SETTINGS

UPLOAD_TYPES = ("application/octet-stream", "application/x-tar", "application/gzip", "application/zip", "")


def _model_out(v: object) -> ModelOut:
    return ModelOut.model_validate(registry.describe(v))  # type: ignore[arg-type]


def _version(request: web.Request) -> str:
    version = request.match_info["version"]
    if not 1 <= len(version) <= 200:
        raise ApiError(404, "not_found", "Not found", "no such model version")
    return version


async def list_models(request: web.Request) -> web.Response:
    versions = await registry.list_models(request.app[POOL])
    scorer = request.app.get(SCORER)
    return respond(
        ModelListOut(items=[_model_out(v) for v in versions], serving=scorer.model.version if scorer else None)
    )


async def get_model(request: web.Request) -> web.Response:
    return respond(_model_out(await registry.get_model(request.app[POOL], _version(request))))


async def post_model(request: web.Request) -> web.Response:
    if request.content_type not in UPLOAD_TYPES:
        raise ApiError(415, "unsupported_media_type", "Unsupported Media Type", "send the archive as bytes")
    limit = request.app[SETTINGS].model_upload_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", "Payload Too Large", f"model archives are at most {limit} bytes")
    # Read the stream ourselves: the app-wide client_max_size is sized for JSON bodies.
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", "Payload Too Large", f"model archives are at most {limit} bytes")
        chunks.append(chunk)
    if not size:
        raise ApiError(400, "empty_body", "Bad Request", "send a tar or zip of the artifact directory")
    created = await registry.upload_model(
        request.app[POOL],
        principal(request),
        b"".join(chunks),
        serving=request.app[SCORER].model,
        settings=request.app[SETTINGS],
    )
    return respond(_model_out(created), 201)


async def post_activate(request: web.Request) -> web.Response:
    data = await body(request, ActivateIn)
    activated = await registry.activate_model(
        request.app[POOL], principal(request), _version(request), reason=data.reason, force=data.force
    )
    return respond(_model_out(activated))


async def post_rollback(request: web.Request) -> web.Response:
    return respond(_model_out(await registry.rollback_model(request.app[POOL], principal(request))))


async def post_shadow(request: web.Request) -> web.Response:
    data = await body(request, ShadowIn)
    return respond(_model_out(await registry.set_shadow(request.app[POOL], _version(request), data.enabled)))


async def get_training_data(request: web.Request) -> web.StreamResponse:
    q = query(request, TrainingDataQuery)
    examples = training_data.export_examples(request.app[POOL], principal(request), since=q.since, limit=q.limit)
    # The first page is read before the headers go out, so a database outage is still a 503 problem.
    first = await anext(examples, None)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson; charset=utf-8"})
    await response.prepare(request)
    batch: list[bytes] = []
    if first is not None:
        batch.append(json.dumps(first, ensure_ascii=False).encode() + b"\n")
        async for example in examples:
            batch.append(json.dumps(example, ensure_ascii=False).encode() + b"\n")
            if len(batch) >= 200:
                await response.write(b"".join(batch))
                batch.clear()
    if batch:
        await response.write(b"".join(batch))
    await response.write_eof()
    return response
