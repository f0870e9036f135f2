'use strict';
// A tiny users API on node:http. Routes:
//   GET /api/users/:id  -> JSON with the user's email
//   GET /api/me         -> 401 without a Bearer token, or with an expired or malformed one
// Listens on 127.0.0.1:$PORT (0 = any free port) and prints `listening on <url>` when ready.
// SIGTERM closes the server and flushes the spans before exit.

const http = require('node:http');
const { trace } = require('@opentelemetry/api');
const { shutdownTracing } = require('./tracing');

function send(res, status, body, headers = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

// The claims of a JWT, unverified: enough for a demo app to tell an expired token from a live one.
function jwtClaims(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

function me(req, res) {
  const header = req.headers.authorization || '';
  const challenge = { 'www-authenticate': 'Bearer realm="users"' };
  if (!header.startsWith('Bearer ')) return send(res, 401, { error: 'authentication required' }, challenge);
  const claims = jwtClaims(header.slice('Bearer '.length));
  if (!claims || typeof claims.sub !== 'string') return send(res, 401, { error: 'invalid token' }, challenge);
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) {
    return send(res, 401, { error: 'token expired' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  return send(res, 200, { id: claims.sub });
}

function user(res, id) {
  return send(res, 200, { id: Number(id), name: `User ${id}`, email: `user${id}@example.com` });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const span = trace.getActiveSpan(); // the server span the http instrumentation started
  if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/api/me') {
    span?.setAttribute('http.route', '/api/me');
    return me(req, res);
  }
  const match = /^\/api\/users\/(\d+)$/.exec(url.pathname); // our own path, not a user-supplied pattern
  if (match) {
    span?.setAttribute('http.route', '/api/users/:id');
    return user(res, match[1]);
  }
  return send(res, 404, { error: 'not found' });
});

server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  shutdownTracing()
    .catch((err) => console.error('span flush failed:', err))
    .finally(() => process.exit(0));
});
