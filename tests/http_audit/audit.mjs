// graphql-http's audit of the GraphQL-over-HTTP spec against a running server:
// `node audit.mjs http://127.0.0.1:8000/graphql` prints each audit's id, name, status and reason.
import { auditServer } from 'graphql-http';

const results = await auditServer({ url: process.argv[2] });
console.log(
  JSON.stringify(
    results.map((r) => ({
      id: r.id,
      name: r.name,
      status: r.status,
      reason: r.status === 'ok' ? undefined : r.reason,
    })),
  ),
);
