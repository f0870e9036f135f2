"""A self-written, seeded mix of hard but benign values: what real users and developers type into
API fields that looks like an attack to a naive matcher.

Six kinds, 25 values each by default: HTML in comments, quotes in product names, developer prose
(that names files such as `.env` or `backup.sql`, SQL words, shell words), Java stack traces,
Windows paths, code snippets. Written by hand for the bench (templates filled from small word
lists with a seeded generator); no attack payload, no third-party data. The detector's
false-positive rate on it is reported beside libinjection's alone (bench/evaluate.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["HARD_KINDS", "hard_benign_values"]

_PRODUCTS = ["Monitor", "Laptop Stand", "Desk Lamp", "Hoodie", "Sneakers", "Backpack", "Kettle", "Jeans"]
_BRANDS = ["Levi's", "Ben & Jerry's", "McDonald's", "Kellogg's", "Trader Joe's", "Macy's", "L'Oréal", "Dr. Martens"]
_NAMES = ["O'Brien", "D'Angelo", "Zoë", "Jean-Luc", "Ngozi", "Łukasz", "Priya", "Hiroshi"]
_JAVA_PKGS = ["com.acme.orders", "org.example.billing", "io.shop.cart", "de.firma.lager", "net.demo.auth"]
_JAVA_CLASSES = ["OrderService", "InvoiceController", "CartRepository", "UserMapper", "PaymentClient"]
_EXCEPTIONS = [
    "java.lang.NullPointerException",
    "java.lang.IllegalStateException: Session closed",
    "java.lang.ClassCastException: java.lang.String cannot be cast to java.lang.Integer",
    "java.io.FileNotFoundException: config/app.yml (No such file or directory)",
    "java.sql.SQLException: Connection is not available, request timed out after 30000ms",
    "java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 3",
    "org.springframework.dao.DataIntegrityViolationException: could not execute statement",
    "java.util.ConcurrentModificationException",
]
_WIN_DIRS = ["Users\\anna\\Documents", "Program Files\\Acme", "ProgramData\\Shop", "Users\\Public\\Pictures", "temp"]
_WIN_FILES = ["report Q3.xlsx", "invoice_2024-03.pdf", "notes.txt", "setup.exe", "photo (1).jpg", "data.csv"]


def _html_comment(r: random.Random) -> str:
    name = r.choice(_NAMES)
    return r.choice(
        [
            f"<p>Great {r.choice(_PRODUCTS).lower()}, would buy again!</p>",
            f"<b>Five stars</b> &mdash; {name} was very helpful",
            "<ul><li>fast shipping</li><li>well packed</li></ul>",
            f"Thanks <i>so</i> much, {name}!<br>See you next time",
            '<a href="https://example.com/reviews/42">my full review</a>',
            "<blockquote>It just works</blockquote> agreed!",
            "<p>Size runs small &lt;- order one up</p>",
            f"<strong>Update:</strong> the {r.choice(_PRODUCTS).lower()} broke after 2 weeks :(",
            '<img src="https://cdn.example.com/u/123.jpg" alt="my desk setup">',
            "<h3>Pros</h3><p>cheap</p><h3>Cons</h3><p>loud</p>",
            "5 > 3 stars, but < 4 :) the <em>colour</em> is off",
            "<code>Ctrl+Alt+Del</code> fixed it, no need to return",
            '<span style="color:red">Out of stock</span> again?',
            "Love it <3 <3 <3",
            "<table><tr><td>S</td><td>M</td></tr></table>",
        ]
    )


def _product_name(r: random.Random) -> str:
    brand = r.choice(_BRANDS)
    return r.choice(
        [
            f'Samsung {r.randint(22, 34)}" Curved Monitor',
            f"{brand} {r.choice(_PRODUCTS)}",
            "Kids' 'Dino' T-Shirt (3-4 yrs)",
            f'{r.randint(2, 12)}\' x {r.randint(2, 12)}\' Rug, "Boho" pattern',
            "Rock 'n' Roll Greatest Hits (Vinyl)",
            f"{brand} Original \"Classic\" Fit",
            'The "Unbreakable" Phone Case - 2 pack',
            "Men's 501® Jeans 32\"/34\"",
            "It's a Wonderful Life [DVD]",
            "Ol' Reliable Cast Iron Pan 10.25\"",
            'Nike Air Max 90 "Infrared"',
            "Mother's Day Card - 'Best Mum'",
            f"{brand} 2-in-1 Shampoo & Conditioner, 400ml",
            "USB-C to USB-A (3') Cable; 2 pack",
            "Pokémon Trading Cards -- Booster \"Scarlet\"",
        ]
    )


def _developer_prose(r: random.Random) -> str:
    return r.choice(
        [
            "Add node_modules and .env to your .gitignore before the first commit.",
            "I restored last night's backup.sql and the orders table looks fine now.",
            "Can you select all orders from last week and drop the duplicates?",
            "Please update the docs: where the user table is joined with orders, order by date.",
            "Run the migration, then delete from the staging bucket anything older than 30 days.",
            "The web.config file controls IIS settings; ours lives in the repo root.",
            "We keep secrets in AWS Secrets Manager, not in the .env file.",
            "Copy config.example.yml to config.yml and fill in your keys.",
            "The prototype of the new checkout is ready; the constructor of CartService changed.",
            "Our Java service uses java.lang.String and java.time.Instant in the API DTOs.",
            "The class module of the onboarding course starts on Monday.",
            "Use eval sparingly in JavaScript; prefer JSON.parse.",
            "Use python -c to test one-liners quickly.",
            "Unzip site-export.zip and check the README inside.",
            "Run `npm install` then `npm run build` and open dist/index.html.",
            "If the cat command shows nothing, the file is empty.",
            "Set PATH=%PATH%;C:\\tools before running the installer.",
            "Hello %USERNAME%, your build finished.",
            "Discount 20% off today, 50% for members",
            "The union of both sets is what we want, not the intersection.",
            "git checkout main && git pull, then rebase your branch.",
            "Where is my order? I ordered on Friday and paid by card.",
            "Please don't echo the password in the logs.",
            "The ${price} placeholder is replaced at render time.",
            "I'd like to exec the script on Monday, if that's OK with ops.",
        ]
    )


def _stack_trace(r: random.Random) -> str:
    pkg = r.choice(_JAVA_PKGS)
    cls = r.choice(_JAVA_CLASSES)
    line = r.randint(12, 480)
    frames = [
        f"\tat {pkg}.{cls}.handle({cls}.java:{line})",
        f"\tat {pkg}.{cls}$$EnhancerBySpringCGLIB$$a1b2c3.handle(<generated>)",
        "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)",
        "\tat java.base/java.lang.Thread.run(Thread.java:833)",
        "\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
        "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)",
    ]
    head = f"Exception in thread \"main\" {r.choice(_EXCEPTIONS)}"
    body = "\n".join(r.sample(frames, r.randint(1, 3)))
    tail = r.choice(["", f"\nCaused by: {r.choice(_EXCEPTIONS)}", "\n\t... 42 more"])
    return f"{head}\n{body}{tail}"


def _windows_path(r: random.Random) -> str:
    d, f = r.choice(_WIN_DIRS), r.choice(_WIN_FILES)
    return r.choice(
        [
            f"C:\\{d}\\{f}",
            f"D:\\backup\\{f}",
            f"\\\\fileserver\\share\\{d}\\{f}",
            f"%USERPROFILE%\\Downloads\\{f}",
            "%APPDATA%\\Acme\\settings.json",
            f"C:\\{d}",
            f"Saved to C:\\{d}\\{f} (2 MB)",
            "C:\\Windows\\Fonts\\arial.ttf",
            f"E:\\Photos\\2023\\{f}",
        ]
    )


def _code_snippet(r: random.Random) -> str:
    return r.choice(
        [
            "const user = Object.assign({}, defaults, input);",
            "for (let i = 0; i < items.length; i++) { total += items[i].price; }",
            "if (a < b && b > c) { return a; }",
            "def total(items): return sum(i.price for i in items)",
            "SELECT name, price FROM products WHERE price < 10 ORDER BY name;",
            "print(f\"{name!r} costs {price:.2f}\")",
            "public static void main(String[] args) { System.out.println(\"hi\"); }",
            "df.groupby('country')['sales'].sum().sort_values()",
            "x = [n ** 2 for n in range(10) if n % 2 == 0]",
            "let total = cart.reduce((s, i) => s + i.qty * i.price, 0);",
            "items.filter(i => i.tags.includes('sale')).map(i => i.id)",
            "<div className=\"card\">{props.title}</div>",
            "docker run -p 8080:80 nginx:latest",
            "ls -la ~/projects | grep api",
            "curl -s https://api.example.com/v1/items | jq '.[0]'",
            "git log --oneline -n 5",
            "fn main() { println!(\"{}\", 1 + 2); }",
            "UPDATE settings SET theme = 'dark' -- per user preference",
            "$total = $price * $qty;",
            "echo \"Hello, $USER\"",
            "const re = /^[a-z0-9_-]{3,16}$/i;",
            "map.put(\"key\", Optional.ofNullable(value).orElse(\"n/a\"));",
            "WHERE created_at >= NOW() - INTERVAL '7 days'",
            "@media (max-width: 600px) { .nav { display: none; } }",
            "try { parse(x) } catch (e) { console.error(e.message) }",
        ]
    )


HARD_KINDS: dict[str, Callable[[random.Random], str]] = {
    "html in comments": _html_comment,
    "quotes in product names": _product_name,
    "developer prose": _developer_prose,
    "java stack traces": _stack_trace,
    "windows paths": _windows_path,
    "code snippets": _code_snippet,
}


def hard_benign_values(per_kind: int = 25, seed: int = 0) -> list[tuple[str, str]]:
    """(kind, value) pairs, `per_kind` distinct values of each kind where the kind has that many."""
    r = random.Random(seed)
    out: list[tuple[str, str]] = []
    for kind, make in HARD_KINDS.items():
        seen: set[str] = set()
        for _ in range(per_kind * 50):
            if len(seen) == per_kind:
                break
            value = make(r)
            if value not in seen:
                seen.add(value)
                out.append((kind, value))
    return out
