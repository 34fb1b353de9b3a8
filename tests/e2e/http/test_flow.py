"""One user's whole journey through the API, with an admin filling the account pool."""

from __future__ import annotations

from tests.e2e.http.conftest import PASSWORD, Api


def test_register_login_submit_complete_download_and_trace_lineage(api: Api) -> None:
    root = api.admin()
    pool = api.client.post("/v1/admin/accounts", headers=root.headers, json={
        "provider_id": "sim", "label": "sim pool", "secret": "sim-key-1", "credits": 1000,
        "max_concurrent_jobs": 2})
    assert pool.status_code == 201

    registered = api.client.post("/v1/auth/register",
                                 json={"email": "ada@example.com", "username": "ada", "password": PASSWORD})
    assert registered.status_code == 201
    tokens = api.client.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    ada = {"Authorization": f"Bearer {tokens['access_token']}"}

    quote = api.client.post("/v1/jobs/quote", headers=ada, json={
        "provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a fox", "num_images": 2}})
    assert quote.json() == {"credits": 2}
    parent = api.client.post("/v1/jobs", headers=ada, json={
        "provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a fox"}}).json()
    child = api.client.post("/v1/jobs", headers=ada, json={
        "provider_id": "sim", "operation_type": "upscale", "params": {"scale": 2},
        "parent_job_id": parent["id"]}).json()
    assert parent["status"] == child["status"] == "pending"

    api.drain()
    done = api.client.get(f"/v1/jobs/{parent['id']}", headers=ada).json()
    assert done["status"] == "completed" and done["attempts"] == 1 and done["completed_at"].endswith("Z")
    [image_id] = done["result_asset_ids"]
    finished_child = api.client.get(f"/v1/jobs/{child['id']}", headers=ada).json()
    assert finished_child["status"] == "completed"
    [upscaled_id] = finished_child["result_asset_ids"]

    content = api.client.get(f"/v1/assets/{image_id}/content", headers=ada)
    assert content.status_code == 200 and content.content.startswith(b"\x89PNG\r\n\x1a\n")
    image = api.client.get(f"/v1/assets/{image_id}", headers=ada).json()
    assert image["source"] == "generated" and image["job_id"] == parent["id"]
    assert image["size_bytes"] == len(content.content)

    lineage = api.client.get(f"/v1/assets/{upscaled_id}/lineage", headers=ada).json()
    assert {n["id"] for n in lineage["nodes"]} == {image_id, upscaled_id}
    [edge] = lineage["edges"]
    assert edge["parent_id"] == image_id and edge["child_id"] == upscaled_id
    assert edge["job_id"] == child["id"] and edge["operation_type"] == "upscale"

    me = api.client.get("/v1/users/me", headers=ada).json()
    assert me["credits"] == 1000 - 2 and me["credits_held"] == 0
    assert me["usage"]["jobs_created"] == 2 and me["usage"]["jobs_completed"] == 2
    generated = api.client.get("/v1/assets?source=generated", headers=ada).json()["items"]
    assert {a["id"] for a in generated} == {image_id, upscaled_id}
    assert api.client.post("/v1/auth/logout", headers=ada).status_code == 204
    assert api.client.get("/v1/users/me", headers=ada).status_code == 401
