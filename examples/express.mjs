#!/usr/bin/env node
// One Express route behind Negotiate (negotiate-server/express). Against the throwaway realm:
//
//   negotiate-server realm up /tmp/realm && . /tmp/realm/env
//   node examples/express.mjs --keytab /tmp/realm/keytab
//   curl --negotiate -u : http://localhost:8081/        # -> Hello, alice@KRBTEST.COM
//
// docs/protecting-your-app.md explains each line.
import http from 'node:http';
import { parseArgs } from 'node:util';
import express from 'express';
import { headerLimitFor } from 'negotiate-server/adapter';
import { negotiate } from 'negotiate-server/express';

const { values } = parseArgs({
  options: {
    keytab: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8081' },
  },
});

const auth = negotiate({ credentials: values.keytab ? { keytab: values.keytab } : {} });
await auth.ready; // an unreadable keytab fails here, not on the first request

const app = express();
app.use(auth); // every route below: 401 challenge, handshake, then req.negotiate
app.get('/', (req, res) => {
  console.log(JSON.stringify({ event: 'request', principal: req.negotiate.principal }));
  res.type('text/plain').send(`Hello, ${req.negotiate.principal}\n`);
});

// node's default 16 KiB header limit is too small for Active Directory tokens with a large PAC.
const server = http.createServer({ maxHeaderSize: headerLimitFor(65536) }, app);
server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  console.log(JSON.stringify({ event: 'listening', url: `http://localhost:${port}/` }));
});
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void auth.close(); // frees the worker pool the middleware started
  });
