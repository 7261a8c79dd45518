"""Checks the portal's real JSON answers against its own /api/openapi.json with openapi-core,
an independent OpenAPI 3.1 validator (it also validates the document itself).

Usage: openapi_check.py BASE_URL COOKIE URL...
Each URL is a concrete page address (ids filled in, query allowed). Every one is asked for with
`format=json` and the session cookie, and its answer validated against the document: the 200
schema, or the error shape for any other status. Every GET path of the document must be asked
for at least once. Prints each failure and exits 1 if there is any.
"""

import re
import sys

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse


def template_regex(path):
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def main():
    base, cookie, urls = sys.argv[1], sys.argv[2], sys.argv[3:]
    session = requests.Session()
    session.headers["Cookie"] = cookie
    spec = session.get(base + "/api/openapi.json", timeout=30).json()
    api = OpenAPI.from_dict(spec)
    templates = {p: template_regex(p) for p, item in spec["paths"].items() if "get" in item}
    asked = set()
    failures = []
    queue = [(url, True) for url in urls]
    while queue:
        url, follow = queue.pop(0)
        sep = "&" if "?" in url else "?"
        ask = url if "format=json" in url else url + sep + "format=json"
        resp = session.get(base + ask, timeout=60, allow_redirects=False)
        path = url.split("?")[0]
        matched = [p for p, rx in templates.items() if rx.match(path)]
        if not matched:
            failures.append(f"{url}: not in the document")
            continue
        asked.update(matched)
        if not resp.headers.get("content-type", "").startswith("application/json"):
            failures.append(f"{url}: HTTP {resp.status_code}, {resp.headers.get('content-type')}")
            continue
        try:
            api.validate_response(RequestsOpenAPIRequest(resp.request), RequestsOpenAPIResponse(resp))
        except Exception as e:  # openapi-core raises one exception carrying the schema errors
            details = "; ".join(str(x) for x in getattr(e, "schema_errors", []) or [e])
            failures.append(f"{url}: HTTP {resp.status_code}: {type(e).__name__}: {details}")
        else:
            print(f"ok {resp.status_code} {url}")
            # A list's next page is checked too (once: its own next is not followed).
            body = resp.json()
            nxt = body.get("links", {}).get("next") if isinstance(body, dict) else None
            if follow and nxt:
                queue.append((nxt, False))
    for p in sorted(set(templates) - asked):
        failures.append(f"{p}: in the document, never asked for")
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
