// The floor for any Node.js HTTP proxy, for bench/faultproxy.bench.ts: node:http towards the caller,
// undici towards the target, nothing else (no headers rewritten, no faults, no counts). Usage:
//   node bench/bare-proxy.mjs <target port>      prints its own port on stdout
import http from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const pool = new Pool(`http://127.0.0.1:${process.argv[2]}`, { headersTimeout: 0, bodyTimeout: 0 });
http
  .createServer((req, res) => {
    pool.request({ method: req.method, path: req.url, headers: req.rawHeaders, body: null }, (error, data) => {
      if (error) {
        res.writeHead(502);
        res.end();
        return;
      }
      res.writeHead(data.statusCode, data.headers);
      pipeline(data.body, res, () => {});
    });
  })
  .listen(0, '127.0.0.1', function () {
    process.stdout.write(`${this.address().port}\n`);
  });
