"""Usage by day and the credits ledger over HTTP, as JSON and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.e2e.http.conftest import Api, assert_problem


def test_usage_is_one_row_per_day_with_zeros_between(api: Api) -> None:
    alice = api.register("alice")
    api.pool_account()
    today = api.wiring.clock.now().date()
    api.job(alice)
    api.drain()
    api.wiring.clock.advance(days=2)
    alice = api.caller(alice.email, alice.id)  # the access token has expired meanwhile
    api.job(alice)
    rows = api.client.get("/v1/users/me/usage", headers=alice.headers,
                          params={"from": str(today), "to": str(today + timedelta(days=2))}).json()["items"]
    assert [r["day"] for r in rows] == [str(today + timedelta(days=n)) for n in range(3)]
    assert [(r["jobs_created"], r["jobs_completed"], r["assets_created"]) for r in rows] == [(1, 1, 1), (0, 0, 0),
                                                                                              (1, 0, 0)]
    assert rows[0]["credits_spent"] == 1 and rows[0]["bytes_stored"] > 0
    default = api.client.get("/v1/users/me/usage", headers=alice.headers).json()["items"]
    assert len(default) == 30 and default[-1]["day"] == str(today + timedelta(days=2))
    wide = api.client.get("/v1/users/me/usage", headers=alice.headers, params={"from": "2000-01-01"}).json()
    assert len(wide["items"]) == 30
    assert api.client.get("/v1/users/me/usage", headers=alice.headers,
                          params={"from": "2030-01-02", "to": "2030-01-01"}).json()["items"] == []
    for bad in ({"from": "yesterday"}, {"to": "2026-13-01"}, {"from": "20260101"}):
        assert_problem(api.client.get("/v1/users/me/usage", headers=alice.headers, params=bad), 422)
    csv_rows = list(csv.reader(io.StringIO(api.client.get(
        "/v1/users/me/usage", headers={**alice.headers, "Accept": "text/csv"},
        params={"from": str(today), "to": str(today)}).text)))
    assert csv_rows == [["day", "jobs_created", "jobs_completed", "assets_created", "credits_spent", "bytes_stored"],
                        [str(today), "1", "1", "1", "1", str(rows[0]["bytes_stored"])]]


def test_the_ledger_shows_each_movement_with_its_job_and_balance(api: Api) -> None:
    alice = api.register("alice")
    api.pool_account()
    job = api.job(alice)
    api.drain()
    cancelled = api.job(alice, prompt="second")
    api.client.post(f"/v1/jobs/{cancelled['id']}/cancel", headers=alice.headers)
    items = api.client.get("/v1/users/me/ledger", headers=alice.headers).json()["items"]
    assert [(i["kind"], i["job_id"]) for i in items] == [
        ("release", cancelled["id"]), ("hold", cancelled["id"]), ("capture", job["id"]), ("hold", job["id"]),
        ("grant", None)]
    assert [(i["available_after"], i["held_after"]) for i in items] == [(999, 0), (998, 1), (999, 0), (999, 1),
                                                                      (1000, 0)]
    assert [i["available_change"] for i in items] == [1, -1, 0, -1, 1000]
    first = api.client.get("/v1/users/me/ledger", headers=alice.headers, params={"limit": 2}).json()
    second = api.client.get("/v1/users/me/ledger", headers=alice.headers,
                            params={"limit": 10, "cursor": first["next_cursor"]}).json()
    assert first["items"] + second["items"] == items and second["next_cursor"] is None
    assert_problem(api.client.get("/v1/users/me/ledger", headers=alice.headers, params={"cursor": "x!"}), 422)
    exported = api.client.get("/v1/users/me/ledger", headers={**alice.headers, "Accept": "text/csv"},
                              params={"limit": 1})
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["id"] for row in table] == [i["id"] for i in items]
    assert table[-1]["kind"] == "grant" and table[-1]["available_after"] == "1000" and table[-1]["job_id"] == ""


def test_admins_read_anyones_usage_and_ledger_others_do_not(api: Api) -> None:
    alice, bob, root = api.register("alice"), api.register("bob"), api.admin()
    for what in ("usage", "ledger"):
        assert api.client.get(f"/v1/admin/users/{alice.id}/{what}", headers=root.headers).status_code == 200
        assert_problem(api.client.get(f"/v1/admin/users/{alice.id}/{what}", headers=bob.headers), 403, "FORBIDDEN")
        assert_problem(api.client.get(f"/v1/admin/users/nobody/{what}", headers=root.headers), 404, "NOT_FOUND")
    ledger = api.client.get(f"/v1/admin/users/{alice.id}/ledger", headers=root.headers).json()["items"]
    assert [i["kind"] for i in ledger] == ["grant"]
    mine = api.client.get("/v1/users/me/ledger", headers=bob.headers).json()["items"]
    assert [i["id"] for i in mine] != [i["id"] for i in ledger]


def test_a_memo_cannot_smuggle_a_formula_into_the_csv(api: Api) -> None:
    alice, root = api.register("alice"), api.admin()
    granted = api.client.post(f"/v1/admin/users/{alice.id}/credits", headers=root.headers,
                              json={"amount": 5, "memo": "=HYPERLINK(\"http://x\")"})
    assert granted.status_code == 200, granted.text
    exported = api.client.get("/v1/users/me/ledger", headers={**alice.headers, "Accept": "text/csv"}).text
    memos = [row["memo"] for row in csv.DictReader(io.StringIO(exported))]
    assert memos[0].startswith("'=")
