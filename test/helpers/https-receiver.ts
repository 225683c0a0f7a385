/**
 * A loopback HTTPS receiver for webhook tests, with test/fixtures/tls's self-signed certificate:
 * only a client that was given `cert.pem` as a CA (NODE_EXTRA_CA_CERTS, or `ca`) trusts it. It
 * keeps every request body and answers 200.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fixture } from './processes.js';

export interface HttpsReceiver {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

export async function httpsReceiver(): Promise<HttpsReceiver> {
  const bodies: string[] = [];
  const server = createServer({ cert: readFileSync(fixture('tls/cert.pem')), key: readFileSync(fixture('tls/key.pem')) }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { body += d; });
    req.on('end', () => { bodies.push(body); res.end(); });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/hook`,
    bodies,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
