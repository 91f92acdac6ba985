// Stands in for `next start`: it only reads process.env, as an unmodified Next.js app does.
for (const name of ["DATABASE_URL", "NEXTAUTH_SECRET", "REDIS_URL"]) {
  console.log(`  node service sees ${name}=${process.env[name] ?? "<unset>"}`);
}
