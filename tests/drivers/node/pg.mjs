// The prisma preset's DATABASE_URL through node-postgres (`pg`), the driver Prisma's
// `@prisma/adapter-pg` runs on: `new pg.Pool({ connectionString })` reads sslmode=verify-full
// (CA and host name verified; the CA from NODE_EXTRA_CA_CERTS). Prints QUERY's first value.
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
try {
  const tls = await pool.query("SELECT cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  if (!tls.rows[0]?.cipher) throw new Error("connected without TLS");
  const res = await pool.query({ text: process.env.QUERY, rowMode: "array" });
  console.log(res.rows[0][0]);
} catch (e) {
  console.error(`realdb-node: ${e.message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
