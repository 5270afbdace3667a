// The prisma preset's DATABASE_URL through Prisma Client 7 ("prisma-client" generator, no Rust
// engine) and the driver adapter Prisma documents for the URL's engine, given the URL exactly
// as written: `mysql://` to @prisma/adapter-mariadb (the `mariadb` connector reads `ssl=true`:
// TLS, CA and host verified), `postgresql://` to @prisma/adapter-pg (node-postgres reads
// `sslmode=verify-full`). The test CA comes from NODE_EXTRA_CA_CERTS. Checks that the session
// is encrypted, then prints the email of the first row of the branch's `customers` table, read
// with a model query.
import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as MysqlClient } from "./generated/mysql/client.ts";
import { PrismaClient as PgClient } from "./generated/postgresql/client.ts";

const url = process.env.DATABASE_URL ?? "";

type Customers = {
  findFirst(args: object): Promise<{ email: string | null } | null>;
};
type Client = {
  customers: Customers;
  $queryRawUnsafe<T>(sql: string): Promise<T>;
  $disconnect(): Promise<void>;
};

async function firstEmail(client: Client, tlsQuery: string): Promise<string | null> {
  try {
    const tls = await client.$queryRawUnsafe<{ cipher: string | null }[]>(tlsQuery);
    if (!tls[0]?.cipher) throw new Error("connected without TLS");
    const row = await client.customers.findFirst({ orderBy: { id: "asc" }, select: { email: true } });
    return row?.email ?? null;
  } finally {
    await client.$disconnect();
  }
}

async function mysql(): Promise<string | null> {
  const client = new MysqlClient({ adapter: new PrismaMariaDb(url) }) as unknown as Client;
  return firstEmail(client, "SELECT VARIABLE_VALUE AS cipher FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'");
}

async function postgres(): Promise<string | null> {
  // Prisma names the schema in its queries (`public` unless the adapter is told another). The
  // role's search_path says which schema is the branch's; on PlanetScale it is `public`.
  const probe = new PgClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as Client;
  let schema: string;
  try {
    const rows = await probe.$queryRawUnsafe<{ schema: string }[]>("SELECT current_schema() AS schema");
    schema = rows[0].schema;
  } finally {
    await probe.$disconnect();
  }
  const adapter = new PrismaPg({ connectionString: url }, { schema });
  const client = new PgClient({ adapter }) as unknown as Client;
  return firstEmail(client, "SELECT cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
}

// What went wrong: Prisma's message and, under its wrappers, the driver's own error.
function describe(e: unknown): string {
  const messages: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 8; depth++) {
    if (typeof cur === "string") {
      messages.push(cur);
      break;
    }
    const obj = cur as { message?: unknown; meta?: { driverAdapterError?: unknown }; cause?: unknown };
    if (typeof obj.message === "string") messages.push(obj.message.trim());
    cur = obj.meta?.driverAdapterError ?? obj.cause;
  }
  const [outer, inner] = [messages[0] ?? String(e), messages[messages.length - 1]];
  return inner && !outer.includes(inner) ? `${outer} (cause: ${inner})` : outer;
}

try {
  const scheme = url.split(":", 1)[0];
  const email = scheme === "mysql" ? await mysql() : scheme.startsWith("postgres") ? await postgres() : null;
  if (email === null) throw new Error(`no row read (DATABASE_URL scheme ${JSON.stringify(scheme)})`);
  console.log(email);
} catch (e) {
  console.error(`realdb-prisma: ${describe(e)}`);
  process.exitCode = 1;
}
