// The benchmark's target: a minimal HTTP server on 127.0.0.1, in its own process so that it does not
// share an event loop with the load generator being measured. Prints its port on stdout.
import http from 'node:http';

const body = JSON.stringify({ items: [1, 2, 3] });
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  })
  .listen(0, '127.0.0.1', function () {
    process.stdout.write(`${this.address().port}\n`);
  });
