// A calculator on the official MCP TypeScript SDK server (`@modelcontextprotocol/sdk`,
// pinned in package.json), stateless Streamable HTTP over Express, that records what
// it executes. tests/integration/test_upstream_differential.py puts entra-guard in
// front of it and checks that the server only ever executes what the filter authorized.
//
// Two MCP apps, one per way a body reaches the SDK:
//   json  the SDK's stateless example (src/examples/server/simpleStatelessStreamableHttp.ts):
//         createMcpExpressApp() parses the body with express.json() (body-parser: it honours
//         the Content-Type charset through iconv-lite and inflates Content-Encoding), then
//         transport.handleRequest(req, res, req.body)
//   raw   no body parser: transport.handleRequest(req, res) and the SDK reads the body itself
// and a control app (never behind Envoy): GET /executions lists what was executed,
// DELETE /executions forgets it.
//
//   node server.mjs            prints {"json": PORT, "raw": PORT, "control": PORT} once listening
//
// Each execution is {app, kind: tool|prompt|resource, name, method, path, identity}: the
// HTTP method and path Express routed, and every header line whose name reads as an
// identity header to some framework (x-entra-* in any case, `_` for `-`), name as received.

import { AsyncLocalStorage } from 'node:async_hooks';
import express from 'express';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';

const executions = [];
const current = new AsyncLocalStorage();
const IDENTITY_PREFIX = 'x-entra-';

function identityHeaders(rawHeaders) {
  const found = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.toLowerCase().replaceAll('_', '-').startsWith(IDENTITY_PREFIX)) {
      found.push([name, rawHeaders[i + 1]]);
    }
  }
  return found;
}

function executed(kind, name) {
  const request = current.getStore() ?? { app: null, method: null, path: null, identity: [] };
  executions.push({ ...request, kind, name });
}

function text(value) {
  return { content: [{ type: 'text', text: String(value) }] };
}

function buildServer() {
  const server = new McpServer({ name: 'entra-guard-calculator-ts', version: '1.0.0' });
  const numbers = { a: z.number(), b: z.number() };
  server.registerTool('add', { description: 'Add two numbers.', inputSchema: numbers }, async ({ a, b }) => {
    executed('tool', 'add');
    return text(a + b);
  });
  server.registerTool('divide', { description: 'Divide a by b.', inputSchema: numbers }, async ({ a, b }) => {
    executed('tool', 'divide');
    return text(a / b);
  });
  server.registerPrompt('explain', { description: 'Explain the calculator (public).' }, async () => {
    executed('prompt', 'explain');
    return { messages: [{ role: 'user', content: { type: 'text', text: 'Explain the calculator.' } }] };
  });
  server.registerPrompt('audit', { description: 'Audit the calculator (protected).' }, async () => {
    executed('prompt', 'audit');
    return { messages: [{ role: 'user', content: { type: 'text', text: 'Audit the calculator.' } }] };
  });
  for (const [name, uri] of [['public', 'calculator://public'], ['secret', 'calculator://secret']]) {
    server.registerResource(name, uri, { mimeType: 'text/plain' }, async () => {
      executed('resource', uri);
      return { contents: [{ uri, text: `the ${name} resource` }] };
    });
  }
  return server;
}

// One server and transport per request, as the SDK's stateless example does.
function mcpHandler(app, passParsedBody) {
  return async (req, res) => {
    const server = buildServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    const request = { app, method: req.method, path: req.originalUrl, identity: identityHeaders(req.rawHeaders) };
    try {
      await server.connect(transport);
      await current.run(request, () =>
        passParsedBody ? transport.handleRequest(req, res, req.body) : transport.handleRequest(req, res));
    } catch (error) {
      if (!res.headersSent) {
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
      }
    }
  };
}

const jsonApp = createMcpExpressApp();
jsonApp.post('/mcp', mcpHandler('json', true));

const rawApp = express();
rawApp.post('/mcp', mcpHandler('raw', false));

const control = express();
control.get('/executions', (req, res) => res.json(executions));
control.delete('/executions', (req, res) => {
  executions.length = 0;
  res.status(204).end();
});

function listen(app) {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(server.address().port)));
  });
}

const ports = { json: await listen(jsonApp), raw: await listen(rawApp), control: await listen(control) };
process.stdout.write(JSON.stringify(ports) + '\n');
