#!/usr/bin/env node
// One Fastify route behind Negotiate (negotiate-server/fastify). Against the throwaway realm:
//
//   negotiate-server realm up /tmp/realm && . /tmp/realm/env
//   node examples/fastify.mjs --keytab /tmp/realm/keytab
//   curl --negotiate -u : http://localhost:8082/        # -> Hello, alice@KRBTEST.COM
//
// docs/protecting-your-app.md explains each line.
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { headerLimitFor } from 'negotiate-server/adapter';
import { negotiate } from 'negotiate-server/fastify';

const { values } = parseArgs({
  options: {
    keytab: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8082' },
  },
});

// node's default 16 KiB header limit is too small for Active Directory tokens with a large PAC.
const app = Fastify({ http: { maxHeaderSize: headerLimitFor(65536) } });
// On the root instance the hook protects every route; an unreadable keytab fails listen().
await app.register(negotiate, { credentials: values.keytab ? { keytab: values.keytab } : {} });
app.get('/', async (request, reply) => {
  console.log(JSON.stringify({ event: 'request', principal: request.negotiate.principal }));
  return reply.type('text/plain').send(`Hello, ${request.negotiate.principal}\n`);
});

await app.listen({ port: Number(values.port), host: values.host });
console.log(JSON.stringify({ event: 'listening', url: `http://localhost:${app.server.address().port}/` }));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void app.close()); // closes the pool too
