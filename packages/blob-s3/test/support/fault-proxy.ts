// A local HTTP proxy in front of s3rver that records every request and injects failures into chosen ones: S3
// error answers (503 SlowDown, 500 InternalError, 403 AccessDenied, ...), reset sockets, responses cut midway,
// answers held until the client gives up, and rewritten answers. The Host header is forwarded as the client sent
// it, so SigV4 signatures still match.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';

/** A request the proxy saw. */
export interface SeenRequest {
  readonly method: string;
  /** The path, without the query. */
  readonly path: string;
  /** The query parameters. */
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** The request body (requests are buffered whole). */
  readonly body: Buffer;
  /** The fault injected into it, if any. */
  readonly fault: string | undefined;
  /** The status answered (once answered). */
  status?: number;
}

/** What to do to a request. */
export type Fault =
  /** Answer with an S3 error document. */
  | { readonly kind: 'error'; readonly status: number; readonly code: string; readonly message?: string }
  /** Destroy the connection without answering. */
  | { readonly kind: 'reset' }
  /** Forward it, then cut the connection after this many bytes of the response body. */
  | { readonly kind: 'truncate'; readonly afterBytes: number }
  /** Never answer (until the client gives up or the proxy closes). */
  | { readonly kind: 'hold' }
  /** Answer with this instead of forwarding. */
  | { readonly kind: 'respond'; readonly status: number; readonly body: string };

/** Which requests a rule applies to. */
export type Match = (request: { method: string; path: string; query: URLSearchParams }) => boolean;

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Every request seen, in order of arrival. */
  readonly requests: SeenRequest[];
  /** Injects `fault` into the next `times` requests that `match` (rules apply in the order they were added). */
  inject(match: Match, fault: Fault, times?: number): void;
  /** Requests seen that `match`. */
  seen(match: Match): SeenRequest[];
  /** Resolves when a request that `match` has arrived (at once if one did). */
  arrived(match: Match): Promise<SeenRequest>;
  /** Resolves when a request that `match` has been answered in full (at once if one was). */
  answered(match: Match): Promise<SeenRequest>;
  /** Forgets the requests seen and the rules not yet used up. */
  reset(): void;
  close(): Promise<void>;
}

/** Matchers for S3 requests (path-style: `/bucket/key`). */
export const s3 = {
  /** Any request on the object `key` of `bucket`. */
  object:
    (bucket: string, key: string, method?: string): Match =>
    (r) =>
      r.path === `/${bucket}/${encodeKey(key)}` && (method === undefined || r.method === method),
  /** UploadPart number `part` of any multipart upload. */
  uploadPart:
    (part?: number): Match =>
    (r) =>
      r.method === 'PUT' &&
      r.query.has('uploadId') &&
      (part === undefined || r.query.get('partNumber') === String(part)),
  createMultipartUpload: ((r) => r.method === 'POST' && r.query.has('uploads')) as Match,
  completeMultipartUpload: ((r) => r.method === 'POST' && r.query.has('uploadId')) as Match,
  abortMultipartUpload: ((r) => r.method === 'DELETE' && r.query.has('uploadId')) as Match,
  deleteObjects: ((r) => r.method === 'POST' && r.query.has('delete')) as Match,
  listObjects: ((r) => r.method === 'GET' && r.query.get('list-type') === '2') as Match,
  any: (() => true) as Match,
};

/** A key as the SDK puts it in a path. */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`))
    .join('/');
}

/** Starts a proxy to `target` (an http:// URL) on 127.0.0.1. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: { match: Match; fault: Fault; left: number }[] = [];
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const answeredRequests = new Set<SeenRequest>();
  const events = new EventEmitter();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const summary = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams };
      const rule = rules.find((r) => r.left > 0 && r.match(summary));
      if (rule !== undefined) rule.left -= 1;
      const body = Buffer.concat(chunks);
      const seen: SeenRequest = { ...summary, headers: req.headers, body, fault: rule?.fault.kind };
      requests.push(seen);
      events.emit('arrived', seen);
      res.on('finish', () => {
        seen.status = res.statusCode;
        answeredRequests.add(seen);
        events.emit('answered', seen);
      });
      handle(req, res, body, rule?.fault);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer, fault: Fault | undefined): void {
    switch (fault?.kind) {
      case 'error': {
        const xml =
          '<?xml version="1.0" encoding="UTF-8"?>\n' +
          `<Error><Code>${fault.code}</Code><Message>${fault.message ?? 'injected by the test proxy'}</Message>` +
          '<RequestId>proxy</RequestId></Error>';
        res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
        res.end(req.method === 'HEAD' ? undefined : xml);
        return;
      }
      case 'respond':
        res.writeHead(fault.status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(fault.body),
        });
        res.end(fault.body);
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'hold':
        return;
      default:
        forward(req, res, body, fault?.kind === 'truncate' ? fault.afterBytes : undefined);
    }
  }

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, cutAfter: number | undefined): void {
    const headers = { ...req.headers };
    delete headers.expect; // the body is already here
    headers['content-length'] = String(body.byteLength);
    delete headers['transfer-encoding'];
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (cutAfter === undefined) {
          answer.pipe(res);
          return;
        }
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent + chunk.byteLength < cutAfter) {
            sent += chunk.byteLength;
            res.write(chunk);
            return;
          }
          res.write(chunk.subarray(0, cutAfter - sent), () => req.socket.destroy());
          answer.destroy();
        });
      },
    );
    out.on('error', () => req.socket.destroy());
    out.end(body);
  }

  function waitFor(event: string, match: Match, already: readonly SeenRequest[]): Promise<SeenRequest> {
    const found = already.find((r) => match(r));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => {
      const listener = (seen: SeenRequest) => {
        if (!match(seen)) return;
        events.off(event, listener);
        resolve(seen);
      };
      events.on(event, listener);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    inject(match, fault, times = 1) {
      rules.push({ match, fault, left: times });
    },
    seen(match) {
      return requests.filter((r) => match(r));
    },
    arrived: (match) => waitFor('arrived', match, requests),
    answered: (match) => waitFor('answered', match, [...answeredRequests]),
    reset() {
      requests.length = 0;
      rules.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
