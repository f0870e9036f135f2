"""The test API on Django, served by `runserver` (threaded, no reloader): `python django_app.py PORT`.

One file is the whole project: this module is the settings module and the URLconf. The
OpenTelemetry Django instrumentation reads settings when it loads, before this script runs, so
an instrumented run needs DJANGO_SETTINGS_MODULE=django_app with this folder on PYTHONPATH
(the e2e harness sets both); a plain run sets them itself.
"""

from __future__ import annotations

import json
import os
import sys

import _shared
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

# --- settings (this module is DJANGO_SETTINGS_MODULE) -----------------------------------------
DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "e2e-test-app-not-a-secret"
ROOT_URLCONF = "django_app"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, object] = {}
USE_TZ = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024  # the echo test posts 300 KB


# --- views ---------------------------------------------------------------------------------------
@require_POST
def login(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    status, payload = _shared.login(body)
    return JsonResponse(payload, status=status)


@require_GET
def user(request: HttpRequest, user_id: int) -> JsonResponse:
    return JsonResponse(_shared.user(user_id))


@require_GET
def me(request: HttpRequest) -> JsonResponse:
    status, payload = _shared.me(request.headers.get("Authorization"))
    return JsonResponse(payload, status=status)


@require_GET
def search(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_shared.search(request.GET.get("q", ""), request.get_full_path()))


@require_POST
def echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_shared.echo(request.body))


@require_GET
def stream(request: HttpRequest) -> StreamingHttpResponse:
    chunks = _shared.int_param(request.GET.get("chunks"), 10)
    size = _shared.int_param(request.GET.get("size"), 100)
    generator = (_shared.stream_chunk(i, size) for i in range(chunks))
    return StreamingHttpResponse(generator, content_type=_shared.STREAM_MEDIA_TYPE)


@require_GET
def big(request: HttpRequest) -> HttpResponse:
    body = _shared.big_body(_shared.int_param(request.GET.get("size"), 1_000_000))
    return HttpResponse(body, content_type=_shared.BIG_MEDIA_TYPE)


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("api/login", login),
    path("api/users/<int:user_id>", user),
    path("api/me", me),
    path("api/search", search),
    path("api/echo", echo),
    path("api/stream", stream),
    path("api/big", big),
    path("health", health),
]


def main() -> None:
    port = int(sys.argv[1])
    _shared.exit_on_sigterm()
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["django_app", "runserver", f"127.0.0.1:{port}", "--noreload"])


if __name__ == "__main__":
    main()
