from conftest import appointment_form, new_case


async def test_smoke(proxima):
    anne = await proxima.worker()
    case = await new_case(anne)
    body = await anne.json("POST", f"/api/cases/{case['id']}/appointments", appointment_form(),
                           status=201)
    print(body["link"])
    r = await anne.request("GET", f"/appointments/{body['appointment']['id']}",
                           headers={"Accept": "text/html"})
    assert r.status == 200, await r.text()
    for path in ["/cases", f"/cases/{case['id']}", f"/cases/{case['id']}/appointments/new",
                 "/outbox", "/login"]:
        r = await anne.request("GET", path, headers={"Accept": "text/html"})
        assert r.status == 200, (path, await r.text())
    guest = proxima.client()
    r = await guest.request("GET", body["link"].replace(proxima.url, ""),
                            headers={"Accept": "text/html"})
    assert r.status == 200, await r.text()
    print(r.url)
