"""The Flask app of the overhead benchmark: `POST /api/orders/<id>` with about 2 KB of JSON each way.

    python bench/apps/flask_bench_app.py PORT      # werkzeug's threaded server on 127.0.0.1:PORT

The request is an order (customer name, shipping address, items, no secrets); the response is
its confirmation, computed from the request (line totals, tax, a sequence number and a
timestamp, so nothing can be cached) and carrying the customer's email from an in-memory
"directory": one PII finding per response, as on a typical API. `order_body(seed)` makes the
request bodies for the benchmark's clients.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import sys
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask, abort, jsonify, request

__all__ = ["create_app", "order_body"]

_FIRST = ["Aoife", "Liam", "Zoë", "Mateo", "Priya", "Søren", "Chloé", "Kwame", "Mei", "D'Arcy", "Lucía", "Björn"]
_LAST = ["O'Brien", "García", "Müller", "Nakamura", "Okafor", "Lindqvist", "Dubois", "McDonald", "Rossi", "Novak"]
_STREETS = ["Harbour Road", "Rue des Lilas", "Kastanienallee", "Calle Mayor", "Elm Street", "Vesterbrogade"]
_CITIES = [("Galway", "IE", "H91 E2K3"), ("Lyon", "FR", "69003"), ("Berlin", "DE", "10435"),
           ("Madrid", "ES", "28013"), ("Portland", "US", "97205"), ("København", "DK", "1620")]
_PRODUCTS = [
    ("Stainless steel water bottle, 750 ml", 24.5), ("Merino wool hiking socks (2 pairs)", 19.9),
    ("Cast iron skillet, 26 cm, pre-seasoned", 54.0), ("Bamboo cutting board with juice groove", 32.75),
    ("Noise-cancelling wireless headphones", 189.0), ("Organic cotton bath towel set", 48.0),
    ("Ceramic pour-over coffee dripper", 27.0), ("LED desk lamp with USB-C charging port", 64.99),
    ("Recycled paper notebook, A5, dotted", 9.5), ("Insulated lunch box, two compartments", 29.0),
]
_COLOURS = ["forest green", "slate grey", "ocean blue", "sand", "charcoal", "terracotta"]
CUSTOMERS = 64
TAX_RATE = 0.21


def _customer(customer_id: int) -> tuple[str, str]:
    """Name and email of a customer in the synthetic directory (example.com addresses only)."""
    first, last = _FIRST[customer_id % len(_FIRST)], _LAST[customer_id * 7 % len(_LAST)]
    folded = unicodedata.normalize("NFKD", f"{first}.{last}".lower().replace("ø", "o").replace("'", ""))
    return f"{first} {last}", f"{folded.encode('ascii', 'ignore').decode()}.{customer_id}@example.com"


def order_body(seed: int) -> bytes:
    """A realistic order of about 2 KB (deterministic per seed)."""
    rng = random.Random(seed)
    customer_id = rng.randrange(CUSTOMERS)
    city, country, postcode = rng.choice(_CITIES)
    items = []
    for _ in range(9):
        name, price = rng.choice(_PRODUCTS)
        items.append({"sku": f"SKU-{rng.randrange(100000, 999999)}", "name": name, "quantity": rng.randint(1, 4),
                      "unit_price": price, "gift_wrap": rng.random() < 0.2, "options": {"colour": rng.choice(_COLOURS)}})
    order = {
        "customer_id": customer_id,
        "customer": {"name": _customer(customer_id)[0], "company": None, "loyalty_tier": rng.choice(["none", "silver"])},
        "shipping_address": {"line1": f"{rng.randint(1, 200)} {rng.choice(_STREETS)}", "line2": "Apartment 4B",
                             "city": city, "postcode": postcode, "country": country},
        "billing_same_as_shipping": True,
        "currency": "EUR",
        "items": items,
        "delivery": {"method": rng.choice(["standard", "express"]),
                     "instructions": "Leave with the neighbour at number 14 if nobody is home, please."},
        "channel": "web",
        "locale": "en-IE",
        "marketing": {"campaign": "spring-sale", "referrer": "newsletter", "consent": True},
    }
    return json.dumps(order, ensure_ascii=False).encode()


def create_app() -> Flask:
    """A fresh app; each variant of the in-process benchmark instruments its own."""
    app = Flask(__name__)
    sequence = itertools.count(1)

    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.post("/api/orders/<int:order_id>")
    def confirm_order(order_id: int) -> Any:
        order = request.get_json(silent=True)
        if not isinstance(order, dict) or not isinstance(order.get("items"), list):
            abort(400)
        name, email = _customer(int(order.get("customer_id", 0)) % CUSTOMERS)
        lines, subtotal = [], 0.0
        for number, item in enumerate(order["items"], start=1):
            total = round(item["unit_price"] * item["quantity"], 2)
            subtotal += total
            lines.append({"line": number, "sku": item["sku"], "name": item["name"], "quantity": item["quantity"],
                          "unit_price": item["unit_price"], "tax": round(total * TAX_RATE, 2), "total": total})
        now = datetime.now(timezone.utc)
        shipping = 4.95 if order["delivery"]["method"] == "standard" else 12.5
        return jsonify({
            "order_id": order_id,
            "confirmation": f"ORD-{order_id:08d}-{next(sequence)}",
            "status": "confirmed",
            "created_at": now.isoformat(),
            "customer": {"id": order.get("customer_id"), "name": name, "email": email},
            "shipping": {**order["shipping_address"], "carrier": "Parcel Express", "service": order["delivery"]["method"],
                         "estimated_delivery": (now + timedelta(days=3)).date().isoformat()},
            "billing": {"same_as_shipping": order.get("billing_same_as_shipping", True), "vat_number": None},
            "payment": {"method": "bank_transfer", "status": "pending",
                        "due": (now + timedelta(days=14)).date().isoformat()},
            "lines": lines,
            "totals": {"items": round(subtotal, 2), "shipping": shipping, "tax": round(subtotal * TAX_RATE, 2),
                       "grand_total": round(subtotal * (1 + TAX_RATE) + shipping, 2), "currency": order["currency"]},
            "message": "Thank you for your order! We will send you an email as soon as your parcel ships.",
            "links": {"self": f"/api/orders/{order_id}", "invoice": f"/api/orders/{order_id}/invoice",
                      "tracking": f"/api/orders/{order_id}/tracking"},
        })

    return app


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    create_app().run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
