import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import postgres from "postgres";

/** HS256-signed JWTs shaped like the ones Supabase Auth issues, for the local stack and tests. */
export class TokenMinter {
  private readonly key: Uint8Array;

  constructor(jwtSecret: string) {
    this.key = new TextEncoder().encode(jwtSecret);
  }

  /** The project's API keys: role-only tokens like Supabase's anon and service_role keys. */
  apiKey(role: "anon" | "service_role"): Promise<string> {
    return new SignJWT({ iss: "supabase-demo", role })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt()
      .setExpirationTime("10y")
      .sign(this.key);
  }

  /** A signed-in user's access token: `app_metadata.role` is what marks admins and support. */
  user(user: { id: string; email: string; appMetadata?: Record<string, unknown> }, expiresIn = "24h"): Promise<string> {
    return new SignJWT({
      sub: user.id,
      email: user.email,
      role: "authenticated",
      aud: "authenticated",
      app_metadata: { provider: "email", providers: ["email"], ...user.appMetadata },
      user_metadata: {},
      session_id: randomUUID(),
      is_anonymous: false,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(this.key);
  }
}

export interface DemoUser {
  id: string;
  email: string;
  appMetadata: Record<string, unknown>;
}

/** The users that supabase/seed.sql created (emails at mfuko.test), read back from auth.users. */
export async function demoUsers(dbUrl: string): Promise<DemoUser[]> {
  const sql = postgres(dbUrl, { max: 1 });
  try {
    const rows = await sql<{ id: string; email: string; raw_app_meta_data: Record<string, unknown> | null }[]>`
      select id, email, raw_app_meta_data from auth.users where email like '%@mfuko.test' order by email`;
    return rows.map((row) => ({ id: row.id, email: row.email, appMetadata: row.raw_app_meta_data ?? {} }));
  } finally {
    await sql.end();
  }
}
