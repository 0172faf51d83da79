import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the stand-in received it; tests assert on these. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface Route {
  method: string;
  /** Express-style pattern: `/v3/conversations/:conversationId/activities/:activityId`. */
  path: string;
  handle: (req: RouteRequest) => Reply | Promise<Reply>;
}

/**
 * Switches that make a stand-in misbehave the way real upstreams do. Counts are consumed one per
 * request; `hang` never answers (to test timeouts without sleeping). `fail` may be limited to one
 * route (`method` and `path` pattern, the others answer normally) and may carry a body of its own,
 * sent as HTML when it is a string (a gateway's error page).
 */
export interface Behaviour {
  latencyMs: number;
  hang: boolean;
  /** Route patterns (any method) that never answer while the others do. */
  hangOn: string[];
  throttle: { count: number; retryAfterSeconds: number };
  fail: { count: number; status: number; method?: string; path?: string; body?: unknown };
}

export interface StandIn {
  name: string;
  url: string;
  port: number;
  /** Requests received, optionally filtered by method and route pattern (`:x` matches one segment). */
  requests(method?: string, pattern?: string): RecordedRequest[];
  /** Resolves when `count` matching requests have arrived (or rejects after `timeoutMs`). */
  waitFor(method: string, pattern: string, count?: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  set(behaviour: Partial<Behaviour>): void;
  reset(): void;
  close(): Promise<void>;
}

const defaultBehaviour = (): Behaviour => ({
  latencyMs: 0,
  hang: false,
  hangOn: [],
  throttle: { count: 0, retryAfterSeconds: 1 },
  fail: { count: 0, status: 500 },
});

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export const compile = (pattern: string): RegExp =>
  new RegExp(
    '^' +
      pattern
        .split('/')
        .map((part) => (part.startsWith(':') ? `(?<${part.slice(1)}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/') +
      '/?$',
  );

const readBody = (req: http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const parseBody = (text: string): unknown => {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const failsNow = (fail: Behaviour['fail'], method: string, path: string) => fail.count > 0 && (!fail.method || fail.method === method) && (!fail.path || compile(fail.path).test(path));

/**
 * The first of `routes` that answers `method` and `path` (the way the server picks one), for a
 * stand-in that answers sub-requests itself (Graph's JSON `$batch`); a 404 reply when none does.
 */
export async function dispatch(name: string, routes: Route[], req: { method: string; url: string; headers: http.IncomingHttpHeaders; body: unknown }): Promise<Reply> {
  const url = new URL(req.url, 'http://stand-in');
  const query = Object.fromEntries(url.searchParams.entries());
  for (const route of routes) {
    if (route.method !== req.method) continue;
    const match = compile(route.path).exec(url.pathname);
    if (!match) continue;
    const params = Object.fromEntries(Object.entries(match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
    return route.handle({ params, query, headers: req.headers, body: req.body });
  }
  return { status: 404, body: { error: { code: 'NotFound', message: `${name} stand-in has no route ${req.method} ${url.pathname}` } } };
}

/**
 * Starts a real HTTP server that answers `routes` and records every request. The control path
 * `POST /_sandbox/behaviour` (JSON `Partial<Behaviour>`) lets `npm run dev` switch latency, errors
 * and throttling without a restart; `GET /_sandbox/requests` lists what was received.
 */
export async function startStandIn(name: string, routes: Route[], options: { port?: number; host?: string } = {}): Promise<StandIn> {
  const compiled = routes.map((r) => ({ ...r, re: compile(r.path) }));
  const recorded: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  let behaviour = defaultBehaviour();
  const hanging = new Set<http.ServerResponse>();

  const send = (res: http.ServerResponse, reply: Reply) => {
    const headers: Record<string, string> = { ...reply.headers };
    let payload = '';
    if (reply.body !== undefined) {
      payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    res.writeHead(reply.status, headers);
    res.end(payload);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const body = parseBody(await readBody(req));
      if (url.pathname === '/_sandbox/behaviour' && req.method === 'POST') {
        behaviour = { ...behaviour, ...(body as Partial<Behaviour>) };
        return send(res, { status: 200, body: behaviour });
      }
      if (url.pathname === '/_sandbox/requests' && req.method === 'GET') {
        return send(res, { status: 200, body: recorded });
      }
      const query = Object.fromEntries(url.searchParams.entries());
      recorded.push({ method: req.method ?? 'GET', path: url.pathname, query, headers: req.headers, body, at: Date.now() });
      for (const wake of [...waiters]) wake();

      if (behaviour.hang || behaviour.hangOn.some((p) => compile(p).test(url.pathname))) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (behaviour.latencyMs > 0) await sleep(behaviour.latencyMs);
      if (behaviour.throttle.count > 0) {
        behaviour.throttle.count -= 1;
        return send(res, {
          status: 429,
          headers: { 'retry-after': String(behaviour.throttle.retryAfterSeconds) },
          body: { error: { code: 'TooManyRequests', message: `${name} stand-in is throttling` } },
        });
      }
      if (failsNow(behaviour.fail, req.method ?? 'GET', url.pathname)) {
        behaviour.fail.count -= 1;
        const { status, body: page } = behaviour.fail;
        if (typeof page === 'string') return send(res, { status, body: page, headers: { 'content-type': 'text/html; charset=utf-8' } });
        return send(res, { status, body: page ?? { error: { code: 'StandInFailure', message: `${name} stand-in failed on purpose` } } });
      }
      for (const route of compiled) {
        if (route.method !== req.method) continue;
        const match = route.re.exec(url.pathname);
        if (!match) continue;
        const params = Object.fromEntries(Object.entries(match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
        return send(res, await route.handle({ params, query, headers: req.headers, body }));
      }
      send(res, { status: 404, body: { error: { code: 'NotFound', message: `${name} stand-in has no route ${req.method} ${url.pathname}` } } });
    })().catch((err: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { error: { code: 'StandInError', message: String(err) } } });
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const requests = (method?: string, pattern?: string) => {
    const re = pattern ? compile(pattern) : undefined;
    return recorded.filter((r) => (!method || r.method === method) && (!re || re.test(r.path)));
  };

  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    waitFor(method, pattern, count = 1, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = requests(method, pattern);
          if (found.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name} stand-in: waited ${timeoutMs} ms for ${count} × ${method} ${pattern}, got ${requests(method, pattern).length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    set(partial) {
      // A copy: the counts are consumed here, never in the caller's object.
      behaviour = { ...behaviour, ...structuredClone(partial) };
    },
    reset() {
      behaviour = defaultBehaviour();
      recorded.length = 0;
    },
    close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
