#!/usr/bin/env node
// One Express route behind passport's `negotiate` strategy (negotiate-server/passport).
// Against the throwaway realm:
//
//   negotiate-server realm up /tmp/realm && . /tmp/realm/env
//   node examples/passport.mjs --keytab /tmp/realm/keytab
//   curl --negotiate -u : http://localhost:8083/        # -> Hello, alice (alice@KRBTEST.COM)
//
// docs/protecting-your-app.md explains each line.
import http from 'node:http';
import { parseArgs } from 'node:util';
import express from 'express';
import { headerLimitFor } from 'negotiate-server/adapter';
import passport from 'passport';
import { NegotiateStrategy } from 'negotiate-server/passport';

const { values } = parseArgs({
  options: {
    keytab: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8083' },
  },
});

// verify (optional) maps the proven client to the application's user: here, a name.
const strategy = new NegotiateStrategy(
  { credentials: values.keytab ? { keytab: values.keytab } : {} },
  (identity, done) => done(null, { name: identity.principal.split('@')[0] }),
);
await strategy.ready; // an unreadable keytab fails here, not on the first request
passport.use(strategy);

const app = express();
app.use(passport.initialize());
app.get('/', passport.authenticate('negotiate', { session: false }), (req, res) => {
  console.log(JSON.stringify({ event: 'request', principal: req.negotiate.principal, user: req.user }));
  res.type('text/plain').send(`Hello, ${req.user.name} (${req.negotiate.principal})\n`);
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
    void strategy.close(); // frees the worker pool the strategy started
  });
