/**
 * A fault-injecting HTTP proxy for the local stack: it sits between the production AWS SDK clients
 * (through their endpoint overrides) and s3rver, fauxqs or the model server, and answers some
 * requests itself the way a failing AWS service does: S3 500 InternalError and 503 SlowDown, SNS
 * throttling, a slow endpoint, a silent one (it accepts the connection, reads the request and never
 * answers: only the client's own time bounds end the call), a connection reset (the endpoint down). Which
 * requests fail is decided by rules, in order; every request and every fault is counted.
 *
 * A rule either counts matching requests (`times`, `every`, `when`: which request a fault hits then
 * depends on the order concurrent requests arrive in, and a retry may be hit again), or picks
 * distinct requests (`distinct`): each request is known by an identity its retries share (method
 * and path), a seeded hash of that identity decides whether it fails, and a picked request fails a
 * fixed number of attempts only, so its retry always gets through, whatever the arrival order.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** An HTTP error the way the service spells it. */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly code: string;
      readonly protocol?: 's3' | 'query' | 'json';
    }
  /** The socket is destroyed before any answer (connection reset: the endpoint is down). */
  | { readonly kind: 'reset' }
  /** The answer is held back this long before being forwarded (slow endpoint; a timeout when long). */
  | { readonly kind: 'delay'; readonly ms: number }
  /** No answer at all, ever; the connection stays open until the client closes it (a silent endpoint). */
  | { readonly kind: 'silent' };

export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  /** The first 2 KiB of the body, as text (enough to see an SNS Action or SQS target). */
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface FaultRule {
  readonly name: string;
  readonly match: (request: RequestInfo) => boolean;
  readonly fault: Fault;
  /**
   * How many matching requests fail (then the rule lets them through); unlimited when not set. With
   * `distinct`: how many distinct requests it picks.
   */
  times?: number;
  /** Fail one matching request in this many (1: every one); the n-th, 2n-th ... fail. */
  readonly every?: number;
  /** Asked for each matching request (after `every`): false lets it through. The soak's dice. */
  readonly when?: () => boolean;
  /**
   * Picks distinct requests instead of counting them (see {@link DistinctPick}); `every` and `when`
   * do not apply then, and a request one such rule picked is not faulted by a later one.
   */
  readonly distinct?: DistinctPick;
}

/**
 * Fails a deterministic subset of distinct requests, each a fixed number of times: the request's
 * identity (`identity`, by default its method and path with the query: an SDK retry sends the same)
 * is hashed with `seed`, and one identity in about `oneIn` fails its first `attempts` attempts
 * (default 1; keep it below the client's maximum attempts, so the retry after them passes). The
 * same identities give the same picks in every run, in any arrival order. A request's later
 * attempts, and the same request sent again later, go through.
 */
export interface DistinctPick {
  readonly seed: string;
  readonly oneIn: number;
  readonly attempts?: number;
  readonly identity?: (request: RequestInfo) => string;
}

/** A request's identity for {@link DistinctPick}: method and path (with the query). */
export const requestIdentity = (request: RequestInfo): string => `${request.method} ${request.path}`;

/** Whether `pick` picks the request known by `identity` (a seeded SHA-256 of it, modulo `oneIn`). */
export function isPicked(pick: DistinctPick, identity: string): boolean {
  return createHash('sha256').update(`${pick.seed}\n${identity}`).digest().readUInt32BE(0) % pick.oneIn === 0;
}

/** What happened to one identity a `distinct` rule picked. */
export interface PickedRequest {
  /** The rule that picked it (the first `distinct` rule, in order, whose pick it is). */
  readonly rule: string;
  /** Attempts it fails before it is let through. */
  readonly attempts: number;
  /** Attempts failed by the rule. */
  faults: number;
  /** Attempts forwarded to the service after the faults (its retries that got through). */
  passed: number;
}

export interface FaultProxy {
  readonly url: string;
  /** Requests seen, and faults injected per rule name. */
  readonly counts: { requests: number; faults: Record<string, number> };
  /** Each request a `distinct` rule picked (and saw), by identity. */
  readonly picked: Map<string, PickedRequest>;
  rules: FaultRule[];
  close(): Promise<void>;
}

function errorBody(fault: Extract<Fault, { kind: 'status' }>): { body: string; type: string } {
  if (fault.protocol === 'json')
    return {
      body: JSON.stringify({ __type: fault.code, message: fault.code }),
      type: 'application/x-amz-json-1.0',
    };
  if (fault.protocol === 'query')
    return {
      body: `<ErrorResponse><Error><Type>Sender</Type><Code>${fault.code}</Code><Message>${fault.code}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
      type: 'text/xml',
    };
  return {
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>${fault.code}</Message><RequestId>fault-proxy</RequestId></Error>`,
    type: 'application/xml',
  };
}

/** Starts a proxy on a free local port that forwards to `target` (http://host:port). */
export async function startFaultProxy(target: string, rules: FaultRule[] = []): Promise<FaultProxy> {
  const upstream = new URL(target);
  const seen = new Map<FaultRule, number>();
  const sockets = new Set<import('node:net').Socket>();
  /** Whether a counting rule fails this matching request (`times`, `every`, then `when`). */
  const countedFails = (rule: FaultRule): boolean => {
    if (rule.times !== undefined && rule.times <= 0) return false;
    const n = (seen.get(rule) ?? 0) + 1;
    seen.set(rule, n);
    if (n % (rule.every ?? 1) !== 0) return false;
    if (rule.when && !rule.when()) return false;
    if (rule.times !== undefined) rule.times -= 1;
    return true;
  };
  /**
   * Whether a `distinct` rule fails this attempt of a matching request: one entry per identity, so a
   * request picked by one rule is not faulted by another; past its faulted attempts it is `passing`.
   */
  const distinctFails = (
    rule: FaultRule,
    pick: DistinctPick,
    info: RequestInfo,
    passing: Set<PickedRequest>,
  ): boolean => {
    const identity = (pick.identity ?? requestIdentity)(info);
    let picked = state.picked.get(identity);
    if (!picked) {
      if ((rule.times !== undefined && rule.times <= 0) || !isPicked(pick, identity)) return false;
      picked = { rule: rule.name, attempts: pick.attempts ?? 1, faults: 0, passed: 0 };
      state.picked.set(identity, picked);
    }
    if (picked.rule !== rule.name) return false;
    if (picked.faults >= picked.attempts) {
      passing.add(picked);
      return false;
    }
    picked.faults += 1;
    if (rule.times !== undefined && picked.faults === 1) rule.times -= 1;
    return true;
  };
  const state: FaultProxy = {
    url: '',
    counts: { requests: 0, faults: {} },
    picked: new Map(),
    rules,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.counts.requests += 1;
      const body = Buffer.concat(chunks);
      const info: RequestInfo = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        body: body.subarray(0, 2048).toString('latin1'),
        headers: req.headers,
      };
      let fault: Fault | undefined;
      // Attempts of picked requests that are let through (their faults spent) are counted as passed.
      const passing = new Set<PickedRequest>();
      for (const rule of state.rules) {
        if (!rule.match(info)) continue;
        if (!(rule.distinct ? distinctFails(rule, rule.distinct, info, passing) : countedFails(rule)))
          continue;
        state.counts.faults[rule.name] = (state.counts.faults[rule.name] ?? 0) + 1;
        fault = rule.fault;
        break;
      }
      const forward = (): void => {
        const out = http.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: upstream.host },
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        out.on('error', () => res.destroy());
        out.end(body);
      };
      if (!fault) {
        for (const picked of passing) picked.passed += 1;
        return forward();
      }
      if (fault.kind === 'reset') return void req.socket.destroy();
      if (fault.kind === 'silent') return;
      if (fault.kind === 'delay') {
        const timer = setTimeout(forward, fault.ms);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      const { body: text, type } = errorBody(fault);
      res.writeHead(fault.status, {
        'content-type': type,
        'x-amzn-requestid': 'fault-proxy',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}
