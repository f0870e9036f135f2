"""Deterministic generator of realistic benign API traffic: values and JSON bodies.

Used as the clean side of detector evaluations (false-positive rate) and as "clean JSON"
for throughput benchmarks. Everything is synthetic: no real person, no attack payload.
Tricky-but-benign content is deliberate: apostrophes in names, SQL words in prose, markdown,
math with angle brackets, URLs with query strings, base64, user agents.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Callable

import orjson

__all__ = ["GENERATORS", "benign_json_body", "benign_values"]

FIRST = [
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Sean",
    "Aoife",
    "José",
    "Zoë",
    "François",
    "Søren",
    "Łukasz",
    "Mei",
    "Hiroshi",
    "Priya",
    "Ahmed",
    "Fatima",
    "Chloé",
    "Björn",
    "Nguyễn",
    "Анна",
    "Дмитрий",
    "陈伟",
    "さくら",
    "지민",
    "Omar",
    "Lucía",
    "Mateo",
    "Ngozi",
    "Kwame",
    "Ava",
    "D'Arcy",
    "Jean-Luc",
]
LAST = [
    "O'Brien",
    "D'Angelo",
    "O'Neil",
    "McDonald",
    "García",
    "Müller",
    "Smith",
    "Nakamura",
    "Kowalski",
    "Dubois",
    "van der Berg",
    "da Silva",
    "N'Diaye",
    "Ó Súilleabháin",
    "Al-Farsi",
    "Ivanova",
    "Li",
    "Johnson",
    "St. John",
    "de la Cruz",
    "Brontë",
    "O'Connor-Smith",
    "L'Estrange",
    "Wójcik",
    "Park",
]
STREETS = [
    "Main St",
    "Rue de l'Église",
    "Baker Street",
    "Königstraße",
    "Calle Mayor",
    "Elm Ave",
    "King's Road",
    "Avenida Paulista",
    "Via dell'Orso",
    "Shore Dr",
]
CITIES = [
    "Dublin",
    "Paris",
    "Berlin",
    "São Paulo",
    "Kraków",
    "Osaka",
    "Austin",
    "Lagos",
    "Zürich",
    "L'Aquila",
]
WORDS = (
    "the a an and or but not of to in on at for with from by as is was are be this that select union "
    "drop order from where join group table update delete insert create alter script alert prompt "
    "like having exec execute sleep wait delay benchmark cast char count sum null true false if else "
    "then case when end user admin password login cat dir type echo ping set find copy move print "
    "system shell command pipe semicolon ampersand or and xor value path file etc var home root "
    "template expression sum total price shipping refund quality love hate great terrible fine ok "
    "product delivery arrived broken fast slow recommend would again box size colour color fits "
    "order tracking number support ticket issue resolved refund store online app update version"
).split()
SENTENCES = [
    "Please select the union option from the drop-down list.",
    "I'd rather drop the order than wait another week.",
    "Select all that apply, or none.",
    "We can't join the tables where the legs are uneven.",
    "Great product, 5 stars! <3",
    "Is a < b > c in this ordering? Yes if a < b and b > c.",
    "Use `SELECT` in the menu, then click Update.",
    "My son said 'wow' when he saw it -- amazing.",
    "Order #1234 arrived; box was damaged & wet.",
    "It's 100% cotton; wash at 30°C.",
    "Where do I find the cat food? Aisle 5 & 6.",
    "Rock 'n' roll never dies.",
    "The script for the school play was great.",
    "Don't forget: 2 > 1 and 1 < 2, math is fun.",
    "We'll be back at 9:00 -- see you then!",
    "Tom & Jerry; Q&A session at 3pm | room B",
    'He said "hello" and left.',
    "Price: $19.99 (was $24.99), save 20%!",
    "The union of the two sets is {1, 2, 3}.",
    "If you're reading this, you're awesome :)",
    "/shrug it's fine",
    "1 or 2 items per order, no more.",
    "Type 2 diabetes friendly recipe.",
    "Sleep well & drink water.",
    "C:\\Users\\Public\\Documents is where I saved it.",
    "Select your size from the chart below.",
    "Javascript: the good parts is a classic book.",
    "Email me at the address on file, or call.",
]
MARKDOWN = [
    "# Release notes\n\n- Fixed **login** bug\n- Added [docs](https://docs.example.com/guide?x=1)\n",
    "## Steps\n1. Open the app\n2. Tap *Settings*\n3. Choose `Dark mode`\n",
    "> quoted text\n\nSome `inline code` and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    "```python\nfor i in range(3):\n    print(i)\n```\n",
    "Check <https://example.com/path?a=1&b=2> for details.",
]
CODE = [
    "x = a if b else c",
    "arr.map(x => x * 2)",
    "SELECT is a keyword in SQL",
    "if (a < b && c > d) { ok(); }",
    "def f(x): return x + 1",
    "const total = items.reduce((s, i) => s + i.price, 0);",
    "a := b + c",
    "key=value; other=thing",
    "name: my-service\nreplicas: 3",
]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "okhttp/4.12.0",
    "PostmanRuntime/7.37.3",
    "Go-http-client/2.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
ACCEPT = [
    "*/*",
    "application/json, text/plain, */*",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
]
DOMAINS = [
    "example.com",
    "shop.example.org",
    "cdn.example.net",
    "api.example.io",
    "docs.example.dev",
]
TLDS = ["com", "org", "net", "io", "de", "fr", "co.uk"]


def _name(r: random.Random) -> str:
    return f"{r.choice(FIRST)} {r.choice(LAST)}"


def _address(r: random.Random) -> str:
    return f"{r.randint(1, 999)} {r.choice(STREETS)}, {r.choice(CITIES)} {r.randint(10000, 99999)}"


def _prose(r: random.Random) -> str:
    if r.random() < 0.5:
        return r.choice(SENTENCES)
    words = [r.choice(WORDS) for _ in range(r.randint(3, 25))]
    text = " ".join(words).capitalize()
    return text + r.choice([".", "!", "?", "...", " :)", ""])


def _url(r: random.Random) -> str:
    path = "/".join(r.choice(WORDS) for _ in range(r.randint(0, 3)))
    query = "&".join(f"{r.choice(WORDS)}={r.randint(1, 500)}" for _ in range(r.randint(0, 3)))
    return f"https://{r.choice(DOMAINS)}/{path}" + (f"?{query}" if query else "")


def _email(r: random.Random) -> str:
    return f"{r.choice(WORDS)}.{r.choice(WORDS)}{r.randint(1, 99)}@{r.choice(DOMAINS)}"


def _phone(r: random.Random) -> str:
    return r.choice(["+1 555-{:03d}-{:04d}", "(555) {:03d}-{:04d}", "+44 20 {:04d} {:04d}"]).format(
        r.randint(0, 999), r.randint(0, 9999)
    )


def _date(r: random.Random) -> str:
    day = f"20{r.randint(10, 30)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
    return f"{day}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"


def _uuid(r: random.Random) -> str:
    return str(uuid.UUID(int=r.getrandbits(128), version=4))


def _base64(r: random.Random) -> str:
    return base64.b64encode(r.randbytes(r.randint(8, 96))).decode()


def _search(r: random.Random) -> str:
    return " ".join(r.choice(WORDS) for _ in range(r.randint(1, 4)))


def _filename(r: random.Random) -> str:
    return f"{r.choice(WORDS)}_{r.randint(1, 999)}.{r.choice(['pdf', 'png', 'jpg', 'csv', 'docx', 'txt'])}"


def _number(r: random.Random) -> str:
    return r.choice(
        [str(r.randint(0, 10**6)), f"{r.uniform(0, 999):.2f}", f"-{r.randint(1, 99)}", "1e-3"]
    )


def _product(r: random.Random) -> str:
    return (
        f"{r.choice(['Classic', 'Deluxe', 'Mini', 'Pro'])} {r.choice(WORDS)} - {r.randint(2, 64)}GB, "
        f'{r.choice(["black", "white", "navy"])} ({r.randint(1, 12)}" screen) & free shipping'
    )


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "name": _name,
    "address": _address,
    "prose": _prose,
    "url": _url,
    "email": _email,
    "phone": _phone,
    "date": _date,
    "uuid": _uuid,
    "base64": _base64,
    "search": _search,
    "file": _filename,
    "number": _number,
    "product": _product,
    "markdown": lambda r: r.choice(MARKDOWN),
    "code": lambda r: r.choice(CODE),
    "agent": lambda r: r.choice(AGENTS),
    "accept": lambda r: r.choice(ACCEPT),
    "domain": lambda r: f"{r.choice(WORDS)}.{r.choice(TLDS)}",
}


def benign_values(n: int, seed: int = 0) -> list[str]:
    """`n` benign field values, mixing every generator; the same seed gives the same list."""
    r = random.Random(seed)
    kinds = sorted(GENERATORS)
    return [GENERATORS[r.choice(kinds)](r) for _ in range(n)]


# Catalogue text for the "clean JSON" body: plain product copy, as most API payloads carry.
DESCRIPTIONS = [
    "Soft organic cotton tee with a relaxed fit.",
    "Water-resistant jacket with taped seams and two zip pockets.",
    "Stainless steel bottle keeps drinks cold for 24 hours.",
    "Wireless earbuds with noise cancelling and a charging case.",
    "Handmade ceramic mug, dishwasher safe, 350 ml.",
    "Lightweight running shoe with a breathable mesh upper.",
    "Cast iron pan, pre-seasoned and oven safe.",
    "Set of four linen napkins in natural tones.",
]
REVIEWS = [
    "Great quality, fast delivery. Would buy again!",
    "Fits as expected and the colour is lovely.",
    "Arrived a day late but works perfectly.",
    "Good value for the price, happy with it.",
    "My daughter loves it, five stars.",
    "Smaller than I thought, still nice.",
]


def _record(r: random.Random, index: int) -> dict[str, object]:
    return {
        "id": _uuid(r),
        "sku": f"SKU-{r.randint(10000, 99999)}",
        "title": f"{r.choice(['Classic', 'Deluxe', 'Mini'])} {r.choice(['tee', 'jacket', 'mug'])}",
        "description": r.choice(DESCRIPTIONS),
        "price": round(r.uniform(1, 500), 2),
        "currency": r.choice(["EUR", "USD", "GBP"]),
        "in_stock": r.random() < 0.8,
        "quantity": r.randint(0, 50),
        "tags": r.sample(["summer", "sale", "new", "eco", "gift", "outdoor", "kitchen"], k=r.randint(1, 3)),
        "created_at": _date(r),
        "updated_at": _date(r),
        "rating": {"average": round(r.uniform(1, 5), 1), "count": r.randint(0, 900)},
        "review": {"title": r.choice(["Love it", "Good", "Okay", "Nice"]), "body": r.choice(REVIEWS),
                   "helpful": r.randint(0, 40)},
        "image": f"https://{r.choice(DOMAINS)}/img/{index}.jpg",
        "position": index,
    }


def benign_json_body(approx_bytes: int, seed: int = 0) -> bytes:
    """A realistic JSON API body (a page of catalogue items) of about `approx_bytes` bytes:
    no personal data, no attack text."""
    r = random.Random(seed)
    items: list[dict[str, object]] = []
    body = {"page": 1, "per_page": 0, "items": items, "next": "/v1/items?page=2"}
    size = 64
    while size < approx_bytes:
        record = _record(r, len(items))
        items.append(record)
        size += len(orjson.dumps(record)) + 1
    body["per_page"] = len(items)
    return orjson.dumps(body)
