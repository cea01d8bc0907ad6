"""httpx over aiohttp for the project's own HTTP calls, and reading an answer's Retry-After."""

from __future__ import annotations

import ssl
import urllib.request

import aiohttp
import certifi
import httpx


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # absent, or an HTTP date: use our own backoff


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx over aiohttp: a fraction of the CPU of httpx's own transport per request.

    Session webhooks are the busiest outbound path; httpx stays the API (and what tests mock
    with respx). Failures are raised as the httpx exceptions httpx's transport would raise.
    """

    DROPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(sock_connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None
        # HTTP(S)_PROXY and NO_PROXY as httpx reads them, once: aiohttp's trust_env reads the
        # whole environment twice a request, in a thread.
        self._proxies = urllib.request.getproxies_environment()
        self._proxy_for: dict[tuple[str, str], str | None] = {}

    def _proxy(self, url: httpx.URL) -> str | None:
        key = (url.scheme, url.host)
        if key not in self._proxy_for:
            proxy = self._proxies.get(url.scheme)
            bypass = proxy is None or bool(urllib.request.proxy_bypass(url.host))
            self._proxy_for[key] = None if bypass else proxy
        return self._proxy_for[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {request.url.scheme!r}")
        if self._session is None:  # made on first use: it belongs to the running loop
            ssl_context = ssl.create_default_context(cafile=certifi.where())  # as httpx does
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(ssl=ssl_context),
                auto_decompress=True,
            )
        headers = [(k, v) for k, v in request.headers.multi_items() if k not in self.DROPPED]
        try:
            async with self._session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=await request.aread(),
                proxy=self._proxy(request.url),
            ) as answer:
                content = await answer.read()
                status, raw_headers = answer.status, answer.headers.items()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except aiohttp.InvalidURL as exc:
            raise httpx.InvalidURL(str(exc)) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(repr(exc), request=request) from exc
        # the body is already decoded: drop what would make httpx decode it again
        kept = [(k, v) for k, v in raw_headers if k.lower() not in ("content-encoding",)]
        return httpx.Response(status, headers=kept, content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
