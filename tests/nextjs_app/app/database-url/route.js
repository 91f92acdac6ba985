// What the server sees at request time: calitho-env's value, never one Next.js read from an env file itself.
export const dynamic = "force-dynamic";

export function GET() {
  return new Response(process.env.DATABASE_URL ?? "(unset)");
}
